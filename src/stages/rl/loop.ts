// The online-RL loop itself, shared by the rl stage and `pipeline rl`: per generation batch,
// draw prompts, sample a group per prompt from the policy as it trains, reward, train. What is
// kept of each batch (the ledger, files) is the caller's: hooks hear every step and batch.
import { Rng, shuffled } from '../../core/rng.js';
import type {
  ChatMessage,
  GenerateResult,
  RlBatchResult,
  RlSession,
  RlStepMetrics,
} from '../../engine/index.js';
import type { RlStageSpec } from '../../spec/schema.js';
import { batchMetrics } from './batch-metrics.js';
import type { RewardFn, Rewarded } from './rewards.js';

/** One sampled completion of a batch, with its prompt and rewards. */
export interface Sampled<P> extends Rewarded {
  prompt: P;
  /** Place in its prompt's group. */
  idx: number;
  completion: GenerateResult['completions'][number];
}

export interface RlLoopHooks<P> {
  /** Checked before each batch: true ends the loop early (a stopped run). */
  stopped(): boolean;
  /** The sampling seed of generation batch `step` (1-based). */
  seed(step: number): number;
  /** Each optimizer step: the trainer's metrics and the batch's (reward, lengths, ...). */
  onStep(m: RlStepMetrics, batch: Record<string, number>): void;
  /** Each generation batch, after training on it. */
  onBatch(step: number, seed: number, sampled: Sampled<P>[], trained: RlBatchResult): void;
}

/** Runs `spec.steps` generation batches (fewer when stopped); returns every optimizer step's metrics. */
export async function runRlLoop<P extends { messages: ChatMessage[] }>(
  session: RlSession,
  spec: RlStageSpec,
  prompts: P[],
  reward: RewardFn,
  promptSeed: number,
  hooks: RlLoopHooks<P>,
): Promise<RlStepMetrics[]> {
  const G = spec.num_generations;
  const draw = promptDraw(prompts, spec.prompts_per_step, promptSeed);
  const history: RlStepMetrics[] = [];
  for (let step = 1; step <= spec.steps && !hooks.stopped(); step++) {
    const batch = draw();
    const seed = hooks.seed(step);
    const { results, promptIds } = await session.generate(
      batch.map((p) => ({ messages: p.messages })),
      {
        n: G,
        maxNewTokens: spec.max_completion_length,
        seed,
        temperature: spec.temperature,
        topP: spec.top_p,
        topK: spec.top_k,
        greedy: false,
        stopStrings: [],
        ignoreEos: false,
      },
    );
    const drawn = results.flatMap((r, i) =>
      r.completions.map((completion, idx) => ({ prompt: batch[i], idx, completion })),
    );
    const rewarded = await reward(
      drawn.map((d) => ({ prompt: d.prompt.messages, text: d.completion.text })),
    );
    const sampled: Sampled<P>[] = drawn.map((d, i) => ({ ...d, ...rewarded[i] }));
    const truncated = (s: Sampled<P>) => s.completion.finishReason === 'length';
    const measured = batchMetrics(
      sampled.map((s) => ({
        tokens: s.completion.tokenIds.length,
        truncated: truncated(s),
        reward: s.reward,
        perJudge: s.perJudge,
      })),
      G,
    );
    const trained = await session.train(
      sampled.map((s, i) => ({
        promptIds: promptIds[Math.floor(i / G)],
        completionIds: s.completion.tokenIds,
        truncated: truncated(s),
      })),
      sampled.map((s) => s.reward),
      G,
      (m) => {
        history.push(m);
        hooks.onStep(m, measured);
      },
    );
    hooks.onBatch(step, seed, sampled, trained);
  }
  return history;
}

/**
 * `perStep` prompts per generation batch: the prompts in a seeded order, reshuffled each time
 * they are used up (epochs over the prompts, as TRL's sampler does).
 */
function promptDraw<P>(prompts: P[], perStep: number, seed: number): () => P[] {
  const rng = new Rng(seed);
  let order: P[] = [];
  return () => {
    const out: P[] = [];
    while (out.length < perStep) {
      if (order.length === 0) order = shuffled(rng, prompts);
      out.push(order.shift()!);
    }
    return out;
  };
}
