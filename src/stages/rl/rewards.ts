// The reward of an rl stage: its judges' scores of each completion on the judges' 0-1 scale
// (rule judges' weighted rule means; reward models' sigmoid(r)), combined by reward_weights
// (TRL GRPOTrainer: `(rewards_per_func * reward_weights).nansum(dim=1)`).
import { PipelineError } from '../../core/errors.js';
import type { ChatMessage } from '../../engine/index.js';
import { promptText } from '../../judges/model-judge.js';
import { rewardScore, type RewardModelJudge } from '../../judges/reward-model-judge.js';
import type { RuleJudge } from '../../judges/rule-judge.js';
import type { RlStageSpec } from '../../spec/schema.js';
import type { RunContext } from '../context.js';
import { resolveJudge } from '../judge-setup.js';

export interface Rewarded {
  /** Each judge's score, by judge name. */
  perJudge: Record<string, number>;
  reward: number;
}

/** Rewards of a generation batch's (prompt, completion) items, in order. */
export type RewardFn = (
  items: readonly { prompt: ChatMessage[]; text: string }[],
) => Promise<Rewarded[]>;

/** A judge an rl stage can be rewarded by: rules (verifiable) or a reward model. */
export type RewardJudge =
  | { id: string; kind: 'rule'; rules: RuleJudge }
  | { id: string; kind: 'reward_model'; rm: RewardModelJudge };

/** Weighted judge rewards; a reward model scores the whole batch in one call. */
export function judgeRewards(judges: RewardJudge[], weights?: number[]): RewardFn {
  const w = weights ?? judges.map(() => 1);
  return async (items) => {
    const scores = await Promise.all(
      judges.map(async (j) =>
        j.kind === 'rule'
          ? items.map((i) => j.rules.judge(i.text, promptText(i.prompt)).score)
          : (await j.rm.rewards(items)).map(rewardScore),
      ),
    );
    return items.map((_, k) => {
      const perJudge: Record<string, number> = {};
      let reward = 0;
      judges.forEach((j, i) => {
        perJudge[j.id] = scores[i][k];
        reward += w[i] * scores[i][k];
      });
      return { perJudge, reward };
    });
  };
}

/** The stage's reward function over the pipeline's judges. */
export function rewardFunction(ctx: RunContext, spec: RlStageSpec, round: number): RewardFn {
  const judges = spec.reward_judges.map((id): RewardJudge => {
    const j = resolveJudge(ctx, id);
    if (j.kind === 'rule') return j;
    if (j.kind === 'reward_model') return { id, kind: 'reward_model', rm: j.rm(round) };
    throw new PipelineError({
      code: 'E_RL_REWARD_JUDGE',
      message: `rl stage: reward judge '${id}' is a ${j.kind} judge; rewards come from rule judges and reward models in this version`,
      hint: 'give reward_judges rule judges (kind: rule) or reward models (kind: reward_model)',
    });
  });
  return judgeRewards(judges, spec.reward_weights);
}
