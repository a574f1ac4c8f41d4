import { judgeByLogprobs } from '../../judges/model-judge.js';
import { inputHash } from '../../store/hash.js';
import type { CandidateRow } from '../../store/types.js';
import { alreadyJudged, recordJudgement } from './record.js';
import type { ModelJudgeUnit } from './unit.js';

/**
 * The expected score under the judge's next-token distribution after a prefilled "Score: "
 * (no sampling, so no seed): one judgement per candidate.
 */
export async function judgeCandidateByLogprobs(
  u: ModelJudgeUnit,
  c: CandidateRow,
  vars: Record<string, unknown>,
): Promise<void> {
  const hash = inputHash(
    'judgement',
    u.judge.id,
    'logprobs',
    u.texts.rubric.hash,
    u.base.constitutionHash,
    c.inputHash,
    u.identity,
  );
  if (alreadyJudged(u, hash)) return;
  // runJudgeStage refuses logprobs for openai judges, so only a model engine gets here
  const r = await judgeByLogprobs(u.engine!, u.texts.rubric, vars);
  recordJudgement(
    u,
    {
      inputHash: hash,
      mode: 'logprobs',
      candidateId: c.id,
      renderedPrompt: r.rendered,
      rawOutput: JSON.stringify(r.distribution),
      score: r.score,
      detail: { distribution: r.distribution },
    },
    { score: r.score, text: JSON.stringify(r.distribution) },
  );
}
