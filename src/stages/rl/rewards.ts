// The reward of an rl stage: its judges' 0-1 scores of each completion, combined by
// reward_weights (TRL GRPOTrainer: `(rewards_per_func * reward_weights).nansum(dim=1)`).
import { promptText } from '../../judges/model-judge.js';
import { PipelineError } from '../../core/errors.js';
import type { RlStageSpec } from '../../spec/schema.js';
import type { RunContext } from '../context.js';
import { resolveJudge, type ResolvedJudge } from '../judge-setup.js';
import type { ChatMessage } from '../../engine/index.js';

export interface Rewarded {
  /** Each judge's score, by judge name. */
  perJudge: Record<string, number>;
  reward: number;
}

export type RewardFn = (prompt: ChatMessage[], text: string) => Rewarded;

/**
 * The stage's reward function. Rule judges score in-process (verifiable rewards); judges that
 * need a model or a server are refused here, and by validation before a run starts.
 */
export function rewardFunction(ctx: RunContext, spec: RlStageSpec): RewardFn {
  const weights = spec.reward_weights ?? spec.reward_judges.map(() => 1);
  const judges = spec.reward_judges.map((id) => {
    const j: ResolvedJudge = resolveJudge(ctx, id);
    if (j.kind !== 'rule')
      throw new PipelineError({
        code: 'E_RL_REWARD_JUDGE',
        message: `rl stage: reward judge '${id}' is a ${j.kind} judge; rewards come from rule judges in this version`,
        hint: 'give reward_judges rule judges (kind: rule), e.g. a regex or length rule a checker can verify',
      });
    return { id, rules: j.rules };
  });
  return (prompt, text) => {
    const perJudge: Record<string, number> = {};
    let reward = 0;
    judges.forEach((j, i) => {
      const s = j.rules.judge(text, promptText(prompt)).score;
      perJudge[j.id] = s;
      reward += weights[i] * s;
    });
    return { perJudge, reward };
  };
}
