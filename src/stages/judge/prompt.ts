import { promptText } from '../../judges/model-judge.js';
import type { CandidateRow } from '../../store/types.js';
import { judgeIdentity, refuseRewardModel } from '../judge-setup.js';
import { judgeCandidateByGeneration } from './generate.js';
import { judgeCandidateByLogprobs } from './logprobs.js';
import { judgePairs } from './pairwise.js';
import { judgeByRules } from './rules.js';
import type { JudgeUnit, ModelJudgeUnit } from './unit.js';

/** Judge one prompt's candidates with one judge, in the stage's mode (rule judges have one). */
export async function judgePrompt(u: JudgeUnit): Promise<void> {
  const { ctx, spec, judge } = u;
  if (judge.kind === 'rule') return judgeByRules({ ...u, judge });
  if (judge.kind === 'reward_model') return refuseRewardModel(judge, 'judge');
  const m: ModelJudgeUnit = {
    ...u,
    judge,
    engine: judge.kind === 'model' ? await ctx.engines.get(judge.model) : undefined,
    identity: judgeIdentity(judge),
    sampling: { temperature: spec.temperature, max_new_tokens: spec.max_new_tokens },
    text: promptText(u.prompt.messages),
  };
  if (spec.mode === 'pairwise') return judgePairs(m);
  for (const c of u.cands) {
    if (ctx.stopped) return;
    const vars = pointwiseVars(m, c);
    if (spec.mode === 'logprobs') await judgeCandidateByLogprobs(m, c, vars);
    else await judgeCandidateByGeneration(m, c, vars);
  }
}

/** The rubric's variables for one candidate: the prompt, the answer, and the principles if asked. */
function pointwiseVars(m: ModelJudgeUnit, c: CandidateRow): Record<string, unknown> {
  const { rubric, constitution } = m.texts;
  const vars: Record<string, unknown> = { prompt: m.text, response: c.text };
  if (constitution && rubric.variables.includes('constitution'))
    vars.constitution = constitution.principles;
  return vars;
}
