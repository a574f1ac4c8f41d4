// The reward of an rl stage: its judges' 0-1 scores of each completion, combined by
// reward_weights (TRL GRPOTrainer: `(rewards_per_func * reward_weights).nansum(dim=1)`).
import { PipelineError } from '../../core/errors.js';
import type { ChatMessage } from '../../engine/index.js';
import { promptText } from '../../judges/model-judge.js';
import type { RuleJudge } from '../../judges/rule-judge.js';
import type { RlStageSpec } from '../../spec/schema.js';
import type { RunContext } from '../context.js';
import { resolveJudge } from '../judge-setup.js';

export interface Rewarded {
  /** Each judge's score, by judge name. */
  perJudge: Record<string, number>;
  reward: number;
}

export type RewardFn = (prompt: ChatMessage[], text: string) => Rewarded;

/**
 * Weighted rule-judge rewards. Rule judges score in-process (verifiable rewards); judges that
 * need a model or a server are refused by validation before a run starts.
 */
export function ruleRewards(
  judges: { id: string; rules: RuleJudge }[],
  weights?: number[],
): RewardFn {
  const w = weights ?? judges.map(() => 1);
  return (prompt, text) => {
    const perJudge: Record<string, number> = {};
    let reward = 0;
    judges.forEach((j, i) => {
      const s = j.rules.judge(text, promptText(prompt)).score;
      perJudge[j.id] = s;
      reward += w[i] * s;
    });
    return { perJudge, reward };
  };
}

/** The stage's reward function over the pipeline's judges. */
export function rewardFunction(ctx: RunContext, spec: RlStageSpec): RewardFn {
  const judges = spec.reward_judges.map((id) => {
    const j = resolveJudge(ctx, id);
    if (j.kind !== 'rule')
      throw new PipelineError({
        code: 'E_RL_REWARD_JUDGE',
        message: `rl stage: reward judge '${id}' is a ${j.kind} judge; rewards come from rule judges in this version`,
        hint: 'give reward_judges rule judges (kind: rule), e.g. a regex, length or sandbox rule',
      });
    return { id, rules: j.rules };
  });
  return ruleRewards(judges, spec.reward_weights);
}
