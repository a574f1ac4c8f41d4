import type { Engine } from '../../engine/index.js';
import type { PromptFileRow } from '../../prompts/prompt-set.js';
import type { RunContext } from '../context.js';
import type { MetricLog } from './metric-log.js';
import { klEstimate } from './metrics/kl.js';
import { logprobShift, perTokenLogprob, type ScoredAnswer } from './metrics/logprob-shift.js';
import type { ProbeAnswer } from './probe-answers.js';

/**
 * Step 6: `reference_logprob` (the policy's per-token log-prob of the probes' reference answers,
 * stored as the baseline later rounds compare with) and, from round 1 on, `logprob_shift` from
 * round 0's value. Nothing when no probe has a reference answer.
 */
export async function recordLogprobShift(
  log: MetricLog,
  engine: Engine,
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
 * Step 7 (round 1 on): `kl`, the policy's own probe answers scored by the initial model M_0 and
 * by the policy M_r.
 */
export async function recordKl(
  ctx: RunContext,
  log: MetricLog,
  engine: Engine,
  answers: readonly ProbeAnswer[],
): Promise<void> {
  const initial = await ctx.engines.get(ctx.initial);
  const rows = answers.map((a) => ({ prompt: a.probe.messages, completion: a.cand.text }));
  const labels = answers.map((a) => a.probe.id);
  const under0 = (await initial.score(rows, labels)) as ScoredAnswer[];
  const underR = (await engine.score(rows, labels)) as ScoredAnswer[];
  log.record('kl', klEstimate(underR, under0));
}
