// Seeds by content. Stored ids (candidates, checkpoints) are hashed with the run id so that two
// runs in one database never share a row; a seed derived from them therefore differed in every
// run, and two fresh runs of one pipeline file judged the same candidates differently (issue 13:
// all 48 self-judgements differed). These keys name the same things by what they are — the
// checkpoint's weights hash, the prompt and the candidate's text — so ctx.seedFor(...) over them
// gives one seed per (pipeline seed, round, content), whatever run it is computed in.

import { inputHash } from '../store/hash.js';
import type { CandidateRow } from '../store/types.js';
import type { RunContext } from './context.js';
import type { ResolvedJudge } from './judge-setup.js';

/** A checkpoint by content: its stored content hash (weights), or null for none. */
export function checkpointKey(
  ctx: RunContext,
  checkpointId: string | null | undefined,
): string | null {
  if (!checkpointId) return null;
  const c = ctx.store.getCheckpoint(checkpointId);
  // a checkpoint stored without a content hash has only its path to tell it apart
  return c ? (c.contentHash ?? c.path) : null;
}

/** The current policy by content. */
export function policyKey(ctx: RunContext): string | null {
  return checkpointKey(ctx, ctx.policy.checkpointId);
}

/** A candidate by content: the conversation it answers, its position and its text. */
export function candidateKey(
  messages: unknown,
  c: Pick<CandidateRow, 'idx' | 'origin' | 'text'>,
): string {
  return inputHash('candidate-content', messages, c.idx, c.origin, c.text);
}

/** Who judges, by content: a model judge's weights, a server's identity, nothing for rules. */
export function judgeKey(ctx: RunContext, judge: ResolvedJudge): unknown {
  if (judge.kind === 'model')
    return (
      checkpointKey(ctx, judge.checkpointId) ?? [judge.model.path, judge.model.adapter ?? null]
    );
  if (judge.kind === 'openai') return judge.client.identity;
  return null;
}
