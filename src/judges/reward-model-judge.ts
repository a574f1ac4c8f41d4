// A reward model as a judge: r(prompt, answer) from a one-label …ForSequenceClassification
// checkpoint (ours from `pipeline train-rm`, or any transformers one), read lazily on first use.
// Its score on the judges' common 0-1 scale is σ(r), the Bradley-Terry probability that the
// answer beats one of reward 0; the raw r is kept beside it.
import { RewardModelScorer, type ChatMessage, type Device } from '../engine/index.js';

export interface RewardModelJudgeOptions {
  device?: Device;
  threads?: number;
  batchSize?: number;
}

export class RewardModelJudge {
  private scorer?: Promise<RewardModelScorer>;

  constructor(
    readonly path: string,
    private readonly opts: RewardModelJudgeOptions = {},
  ) {}

  /** Raw rewards r of each (prompt, answer), the answer as the assistant turn after the prompt. */
  async rewards(items: readonly { prompt: ChatMessage[]; text: string }[]): Promise<number[]> {
    this.scorer ??= RewardModelScorer.open(this.path, this.opts);
    const scorer = await this.scorer;
    return scorer.scoreRows(
      items.map((i) => ({
        prompt: i.prompt,
        completion: [{ role: 'assistant', content: i.text }],
      })),
    );
  }

  async close(): Promise<void> {
    if (this.scorer) await (await this.scorer).close();
    this.scorer = undefined;
  }
}

/** σ(r): a reward on the judges' 0-1 scale. */
export const rewardScore = (r: number): number => 1 / (1 + Math.exp(-r));
