import { PipelineError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { judgePairwise, type PairwiseSample } from '../../judges/model-judge.js';
import { openaiJudgePairwise } from '../../judges/openai-judge.js';
import { samplePrinciple, type Principle } from '../../prompts/constitution.js';
import { inputHash } from '../../store/hash.js';
import type { CandidateRow } from '../../store/types.js';
import { candidateKey, judgeKey } from '../content-seed.js';
import { serverDetail } from '../judge-setup.js';
import { recordJudgement } from './record.js';
import type { ModelJudgeUnit } from './unit.js';

type Verdict = 'A' | 'B' | null;

/**
 * Every pair of candidates compared under one sampled principle, in both orders to expose
 * position bias; a pair whose verdict names the same letter twice (the winner changed with the
 * order) is counted as inconsistent.
 */
export async function judgePairs(u: ModelJudgeUnit): Promise<void> {
  const { constitution } = u.texts;
  if (!constitution)
    throw new PipelineError({
      code: 'E_JUDGE_CONFIG',
      message: 'pairwise judging needs a constitution to sample principles from',
      hint: 'add constitution: to the judge stage',
    });
  const { cands } = u;
  for (let i = 0; i < cands.length; i++)
    for (let j = i + 1; j < cands.length; j++) {
      // One principle per comparison, the same for both orders.
      const pairKey = inputHash(
        candidateKey(u.prompt.messages, cands[i]),
        candidateKey(u.prompt.messages, cands[j]),
      );
      const principle = samplePrinciple(
        constitution,
        new Rng(u.ctx.seedFor('principle', u.base.round, u.judge.id, pairKey)),
      );
      const verdicts: Verdict[] = [];
      for (const [a, b] of [
        [cands[i], cands[j]],
        [cands[j], cands[i]],
      ] as const)
        verdicts.push(await judgeOrder(u, principle, a, b));
      // consistent = the same candidate wins in both orders: (A, B) or (B, A)
      if (verdicts[0] && verdicts[1] && verdicts[0] === verdicts[1]) u.counts.inconsistent++;
    }
}

/** One comparison with `a` shown as (A) and `b` as (B): the stored verdict, or a new one. */
async function judgeOrder(
  u: ModelJudgeUnit,
  principle: Principle,
  a: CandidateRow,
  b: CandidateRow,
): Promise<Verdict> {
  const { ctx, judge } = u;
  const { rubric } = u.texts;
  const hash = inputHash(
    'judgement',
    judge.id,
    'pairwise',
    rubric.hash,
    u.base.constitutionHash,
    principle.id,
    a.inputHash,
    b.inputHash,
    u.sampling,
    u.identity,
  );
  const existing = ctx.store.existingId('judgements', hash);
  if (existing) {
    u.counts.reused++;
    const v = ctx.store.getJudgement(existing)!.verdict;
    return v === 'A' || v === 'B' ? v : null;
  }
  const vars = {
    prompt: u.text,
    response_a: a.text,
    response_b: b.text,
    principle: { id: principle.id, title: principle.title, text: principle.text },
  };
  const seed = ctx.seedFor(
    'pairwise',
    u.base.round,
    judge.id,
    rubric.hash,
    u.base.constitutionHash,
    principle.id,
    candidateKey(u.prompt.messages, a),
    candidateKey(u.prompt.messages, b),
    u.sampling,
    judgeKey(ctx, judge),
  );
  let r: PairwiseSample;
  let detail: Record<string, unknown> | undefined;
  if (judge.kind === 'openai') {
    const o = await openaiJudgePairwise(judge.client, rubric, vars, u.sampling, seed);
    r = o;
    detail = serverDetail(judge, o.model, o.finishReason);
  } else r = await judgePairwise(u.engine!, rubric, vars, u.sampling, seed);
  recordJudgement(
    u,
    {
      inputHash: hash,
      mode: 'pairwise',
      candidateId: a.id,
      otherCandidateId: b.id,
      principleId: principle.id,
      renderedPrompt: r.rendered,
      rawOutput: r.raw,
      verdict: r.verdict,
      parseError: r.parseError ?? null,
      detail,
    },
    { verdict: r.verdict ?? undefined, parseError: r.parseError, text: r.raw },
  );
  return r.verdict;
}
