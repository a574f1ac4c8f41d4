import type { ModelEngine } from '../../engine/index.js';
import { judgeByGeneration, promptText, type ScoreSample } from '../../judges/model-judge.js';
import { openaiJudgeByGeneration } from '../../judges/openai-judge.js';
import { ruleName } from '../../judges/rule-judge.js';
import type { Rubric } from '../../prompts/rubric.js';
import { inputHash } from '../../store/hash.js';
import { candidateKey, judgeKey } from '../content-seed.js';
import type { RunContext } from '../context.js';
import { judgeIdentity, serverDetail, type ResolvedJudge } from '../judge-setup.js';
import type { RuleCheck } from './metrics/violations.js';
import type { ProbeAnswer } from './probe-answers.js';

/** The anchor judge's verdict on one probe answer. */
export interface AnswerVerdict {
  /** null: the judge's output did not parse. */
  score: number | null;
  parseFailed: boolean;
  /** Each rule's outcome (rule judges only). */
  checks?: RuleCheck[];
}

/** Where a judgement is stored. */
export interface JudgeTarget {
  round: number;
  stageIndex: number;
}

/**
 * A rule judge's verdict: always recomputed (rules are cheap and pure), stored once per answer
 * and judge.
 */
export function judgeByRules(
  ctx: RunContext,
  judge: Extract<ResolvedJudge, { kind: 'rule' }>,
  { probe, cand }: ProbeAnswer,
  { round, stageIndex }: JudgeTarget,
): AnswerVerdict {
  const hash = inputHash('eval-judgement', judge.id, cand.inputHash);
  const v = judge.rules.judge(cand.text, promptText(probe.messages));
  if (!ctx.store.existingId('judgements', hash))
    ctx.store.addJudgement({
      round,
      stageIndex,
      inputHash: hash,
      judgeId: judge.id,
      mode: 'rule',
      candidateId: cand.id,
      score: v.score,
      rawOutput: JSON.stringify(v.outcomes),
    });
  const checks = v.outcomes.map((o, k) => ({
    name: ruleName(judge.rules.rules[k], k),
    passed: o.passed,
  }));
  return { score: v.score, parseFailed: false, checks };
}

/**
 * A model or server judge's verdict by the rubric, read back when already stored. Model judges
 * keep their original hash so earlier runs resume; a server judge's hash names the server and
 * model, so pointing the judge elsewhere re-judges.
 */
export async function judgeByRubric(
  ctx: RunContext,
  judge: Exclude<ResolvedJudge, { kind: 'rule' }>,
  judgeEngine: ModelEngine | undefined,
  rubric: Rubric,
  { probe, cand }: ProbeAnswer,
  { round, stageIndex }: JudgeTarget,
): Promise<AnswerVerdict> {
  const hash = inputHash(
    'eval-judgement',
    judge.id,
    rubric.hash,
    cand.inputHash,
    // The policy as judge changes every round: its checkpoint is part of what it judged with.
    ...(judge.kind === 'openai' || judge.id === 'self' ? [judgeIdentity(judge)] : []),
  );
  const existing = ctx.store.existingId('judgements', hash);
  if (existing) {
    const j = ctx.store.getJudgement(existing)!;
    return { score: j.score, parseFailed: Boolean(j.parseError) };
  }
  const vars = { prompt: promptText(probe.messages), response: cand.text };
  const sampling = { temperature: 0, max_new_tokens: 256 };
  const seed = ctx.seedFor(
    'eval-judge',
    round,
    judge.id,
    rubric.hash,
    candidateKey(probe.messages, cand),
    judgeKey(ctx, judge),
  );
  let rendered: string;
  let s: ScoreSample;
  let detail: Record<string, unknown> | undefined;
  if (judge.kind === 'openai') {
    const r = await openaiJudgeByGeneration(judge.client, rubric, vars, 1, sampling, seed);
    rendered = r.rendered;
    s = r.samples[0];
    detail = serverDetail(judge, r.model, r.samples[0].finishReason);
  } else {
    const r = await judgeByGeneration(judgeEngine!, rubric, vars, 1, sampling, seed);
    rendered = r.rendered;
    s = r.samples[0];
  }
  ctx.store.addJudgement({
    round,
    stageIndex,
    inputHash: hash,
    judgeId: judge.id,
    judgeCheckpointId: judge.kind === 'model' ? judge.checkpointId : null,
    mode: 'generate',
    candidateId: cand.id,
    rubricHash: rubric.hash,
    renderedPrompt: rendered,
    rawOutput: s.raw,
    score: s.score,
    parseError: s.parseError ?? null,
    detail,
  });
  return { score: s.score, parseFailed: Boolean(s.parseError) };
}
