import type { ModelEngine } from '../../engine/index.js';
import type { PromptFileRow } from '../../prompts/prompt-set.js';
import type { RunContext } from '../context.js';
import type { MetricLog } from './metric-log.js';
import { sampledKl } from './kl-samples.js';
import { logprobShift, perTokenLogprob, type ScoredAnswer } from './metrics/logprob-shift.js';

/**
 * Step 6: `reference_logprob` (the policy's per-token log-prob of the probes' reference answers,
 * stored as the baseline later rounds compare with) and, from round 1 on, `logprob_shift` from
 * round 0's value. Nothing when no probe has a reference answer.
 */
export async function recordLogprobShift(
  log: MetricLog,
  engine: ModelEngine,
  probes: readonly PromptFileRow[],
  round: number,
): Promise<void> {
  const withRef = probes.filter((p) => p.reference);
  if (!withRef.length) return;
  const rows = withRef.map((p) => ({ prompt: p.messages, completion: p.reference! }));
  const now = (await engine.score(
    rows,
    withRef.map((p) => p.id),
  )) as ScoredAnswer[];
  const value = perTokenLogprob(now);
  const r0 = log.atRound0('reference_logprob');
  log.put('reference_logprob', value);
  if (round > 0 && r0?.value != null) log.record('logprob_shift', logprobShift(value, r0.value));
}

/**
 * Step 7 (round 1 on): `kl`, Schulman's k3 on answers sampled from the policy M_r at temperature 1
 * (metrics/kl.ts); the greedy probe answers would bias it, even below 0.
 */
export async function recordKl(
  ctx: RunContext,
  log: MetricLog,
  engine: ModelEngine,
  probes: readonly PromptFileRow[],
  { round, maxNewTokens }: { round: number; maxNewTokens: number },
): Promise<void> {
  const { value, samples } = await sampledKl(ctx, engine, probes, round, maxNewTokens);
  log.record('kl', value, { estimator: 'k3', samples, temperature: 1 });
}
