import type { GraphBuilder, V } from '../graph/builder.js';
import type { ModelConfig } from '../model/config.js';
import { PEFT_PREFIX } from '../model/peft-adapter.js';
import type { Rng } from '../../core/rng.js';

/** The Linear modules LoRA may target, by their short names (PEFT `target_modules`). */
export const LINEAR_MODULES = [
  'q_proj',
  'k_proj',
  'v_proj',
  'o_proj',
  'gate_proj',
  'up_proj',
  'down_proj',
] as const;
export const DEFAULT_LORA_TARGETS = [...LINEAR_MODULES];

export interface LoraSpec {
  r: number;
  alpha: number;
  targets: string[];
  useRslora?: boolean;
  /**
   * Modules trained whole beside the adapter, by checkpoint prefix (PEFT `modules_to_save`; a
   * reward model's `score` head, which PEFT adds itself for task_type SEQ_CLS).
   */
  modulesToSave?: string[];
}

/** Whether checkpoint tensor `key` belongs to one of the spec's modules_to_save. */
export const savedWhole = (spec: LoraSpec, key: string): boolean =>
  (spec.modulesToSave ?? []).some((m) => key.startsWith(`${m}.`));

export const loraScale = (s: LoraSpec): number =>
  s.useRslora ? s.alpha / Math.sqrt(s.r) : s.alpha / s.r;

/** `model.layers.0.self_attn.q_proj` for every targeted Linear layer, with [out, in]. */
export function loraModules(
  cfg: ModelConfig,
  targets: string[],
): { module: string; out: number; in: number }[] {
  const H = cfg.hiddenSize;
  const q = cfg.numAttentionHeads * cfg.headDim;
  const kv = cfg.numKeyValueHeads * cfg.headDim;
  const I = cfg.intermediateSize;
  const shapes: Record<string, [string, number, number]> = {
    q_proj: ['self_attn', q, H],
    k_proj: ['self_attn', kv, H],
    v_proj: ['self_attn', kv, H],
    o_proj: ['self_attn', H, q],
    gate_proj: ['mlp', I, H],
    up_proj: ['mlp', I, H],
    down_proj: ['mlp', H, I],
  };
  const out: { module: string; out: number; in: number }[] = [];
  for (let l = 0; l < cfg.numHiddenLayers; l++)
    for (const t of LINEAR_MODULES)
      if (targets.includes(t)) {
        const [group, o, i] = shapes[t];
        out.push({ module: `model.layers.${l}.${group}.${t}`, out: o, in: i });
      }
  return out;
}

export const loraAName = (module: string): string => `${PEFT_PREFIX}${module}.lora_A.weight`;
export const loraBName = (module: string): string => `${PEFT_PREFIX}${module}.lora_B.weight`;

/**
 * PEFT's default init: A ~ kaiming_uniform(a=√5) = U(-1/√in, 1/√in), B = 0, so the adapted model
 * starts equal to the base.
 */
export function initLora(
  mod: { out: number; in: number },
  r: number,
  rng: Rng,
): { a: Float32Array; b: Float32Array } {
  const bound = 1 / Math.sqrt(mod.in);
  const a = new Float32Array(r * mod.in);
  for (let i = 0; i < a.length; i++) a[i] = (2 * rng.nextFloat() - 1) * bound;
  return { a, b: new Float32Array(mod.out * r) };
}

/** y = x W^T + scale · (x A^T) B^T, with A [r, in] and B [out, r] as graph values (PEFT LoraLayer). */
export function loraLinear(b: GraphBuilder, x: V, plain: V, A: V, B: V, scale: number): V {
  return b.scope('lora', () => {
    const down = b.matMul(x, b.transpose(A, [1, 0])); // [.., r]
    const up = b.matMul(down, b.transpose(B, [1, 0])); // [.., out]
    return b.add(plain, b.mul(up, b.constF(scale)));
  });
}
