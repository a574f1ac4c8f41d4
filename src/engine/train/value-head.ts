// PPO's critic as a value head on the policy: V(s_t) = w · h_t + b, read from the final hidden
// state h_t at the position that predicts completion token t (the state the token is chosen in),
// as TRL's AutoModelForCausalLMWithValueHead (`v_head.summary`, a Linear hidden → 1 with bias)
// does. TRL's later PPOTrainer used a separate critic initialised from the reward model; a head on
// the shared trunk costs one matmul instead of a second forward and backward pass per step, which
// is what lets PPO run on a CPU beside the policy (docs/rl-conventions.md).
import { normals, Rng } from '../../core/rng.js';
import type { GraphBuilder, V } from '../graph/builder.js';
import type { LoadedModel } from '../model/load-model.js';
import type { WeightBinder } from '../model/llama-graph.js';
import type { TrainMode } from './train-graph.js';

export const VALUE_HEAD = 'v_head.summary';
export const VALUE_WEIGHT = `${VALUE_HEAD}.weight`;
export const VALUE_BIAS = `${VALUE_HEAD}.bias`;

/** Seed stream of the value head's init (1 LoRA, 2 data order, 3 the RL prompt draws). */
const VALUE_STREAM = 4;

/**
 * `base` with a value head among its weights: weight [1, H] ~ N(0, initializer_range²)
 * (transformers' _init_weights for a new Linear), bias [1] = 0, drawn from `seed`.
 */
export function withValueHead(base: LoadedModel, seed: number): LoadedModel {
  const H = base.config.hiddenSize;
  const raw = base.config.raw.initializer_range;
  const range = typeof raw === 'number' ? raw : 0.02;
  const weight = normals(new Rng(seed).fork(VALUE_STREAM), H, range);
  const bias = new Float32Array(1);
  return {
    ...base,
    weights: {
      get: (key) =>
        key === VALUE_WEIGHT
          ? { dims: [1, H], data: weight }
          : key === VALUE_BIAS
            ? { dims: [1], data: bias }
            : base.weights.get(key),
      external: (key) => (key.startsWith(VALUE_HEAD) ? undefined : base.weights.external?.(key)),
    },
  };
}

/** LoRA trains the value head whole beside the adapter (PEFT's modules_to_save); full trains everything. */
export function withValueHeadMode(mode: TrainMode): TrainMode {
  if (mode.kind === 'full') return mode;
  const saved = mode.lora.modulesToSave ?? [];
  return {
    kind: 'lora',
    lora: {
      ...mode.lora,
      modulesToSave: saved.includes(VALUE_HEAD) ? saved : [...saved, VALUE_HEAD],
    },
  };
}

/** V of each position whose hidden state is given: hidden [N, H] → [N]. */
export function tokenValues(b: GraphBuilder, binder: WeightBinder, hidden: V): V {
  return b.scope('v_head', () => {
    const w = binder.weight(b, VALUE_WEIGHT); // [1, H]
    const v = b.squeeze(b.matMul(hidden, b.transpose(w, [1, 0])), [1]); // [N]
    return b.add(v, binder.weight(b, VALUE_BIAS));
  });
}
