// Reward-model training (TRL RewardTrainer semantics) on onnxruntime: the step graph (rm-graph.ts)
// scores the chosen and rejected sequences, takes the Bradley–Terry loss, backward and clipping;
// StepSession applies AdamW. This file lays out the pairs and names the metrics as TRL logs them.
import { PipelineError } from '../../../core/errors.js';
import type { LoadedModel } from '../../model/load-model.js';
import type { LoraAdapter } from '../../model/peft-adapter.js';
import { hostData, tensor } from '../../runtime/ort-session.js';
import { layoutRightPadded } from '../pair-batches.js';
import { SessionTrainer, type SessionTrainerOptions } from '../session-trainer.js';
import { StepSession, type MicroFeeds, type MicroGradients } from '../step-session.js';
import type { StepMetrics } from '../trainer.js';
import type { TrainMode } from '../train-graph.js';
import { buildRewardGraph } from './rm-graph.js';
import type { RewardPairIds } from './rm-rows.js';

export interface RewardTrainerOptions extends SessionTrainerOptions {
  /** TRL's center_rewards_coefficient; undefined (TRL's None) leaves the term out. */
  centerRewardsCoefficient?: number;
}

/**
 * LoRA trains the score head whole beside the adapter: PEFT does so for task_type SEQ_CLS
 * (modules_to_save), and a new head that stayed at its random init would make the adapter learn
 * against noise.
 */
export function withScoreHead(mode: TrainMode): TrainMode {
  if (mode.kind === 'full') return mode;
  const saved = mode.lora.modulesToSave ?? [];
  return {
    kind: 'lora',
    lora: { ...mode.lora, modulesToSave: saved.includes('score') ? saved : [...saved, 'score'] },
  };
}

/** Both sequences of every pair: chosen rows, then rejected rows (TRL's collator order). */
function layout(pairs: RewardPairIds[], padId: number) {
  const seq = (ids: number[]) => ({ promptIds: ids, responseIds: [] });
  return layoutRightPadded(
    [...pairs.map((p) => seq(p.chosenIds)), ...pairs.map((p) => seq(p.rejectedIds))],
    padId,
  );
}

/**
 * Step metrics, TRL's names: loss, grad_norm, learning_rate, accuracy, margin, mean_reward
 * (means over the step's pairs), min_reward / max_reward (over the step's rewards; TRL averages
 * each micro-batch's over its logging window), num_tokens (tokens trained on so far), plus
 * tokens_per_s.
 */
export class RewardTrainer extends SessionTrainer<RewardTrainerOptions> {
  private seen = 0;

  /**
   * `rm` is the reward model to train (score-head.ts's asRewardModel), without any adapter
   * merged; `padId` must be the pad_token_id its config is saved with. `initAdapter` starts LoRA
   * from an existing adapter's A and B (the score head still comes from `rm`).
   */
  static async create(
    rm: LoadedModel,
    opts: RewardTrainerOptions,
    padId: number,
    initAdapter?: LoraAdapter,
  ): Promise<RewardTrainer> {
    const mode = withScoreHead(opts.mode);
    const graph = buildRewardGraph({
      cfg: rm.config,
      weights: rm.weights,
      mode,
      optimizer: opts.optimizer,
      accumulate: opts.gradAccum > 1,
      gradientCheckpointing: opts.gradientCheckpointing,
      loss: { centerRewardsCoefficient: opts.centerRewardsCoefficient },
      padId,
    });
    const session = await StepSession.create(graph, rm, { ...opts, mode }, initAdapter);
    return new RewardTrainer(session, { ...opts, mode }, padId);
  }

  /** What is trained: full, or LoRA with the score head among its modules_to_save. */
  get mode(): TrainMode {
    return this.opts.mode;
  }

  private feeds(pairs: RewardPairIds[]): MicroFeeds {
    return {
      batch: layout(pairs, this.padId),
      inputs: {
        pair_margin: tensor(
          'float32',
          Float32Array.from(pairs, (p) => p.margin ?? 0),
          [pairs.length],
        ),
      },
    };
  }

  /** d loss / d param of one micro-batch before any update, with its loss, metrics and rewards. */
  async gradients(pairs: RewardPairIds[]): Promise<MicroGradients & { rewards: Float32Array }> {
    const g = await this.session.gradients(this.feeds(pairs));
    return { ...g, rewards: hostData<Float32Array>(g.outputs.rewards) };
  }

  /**
   * One optimizer step over its micro-batches. A non-finite loss or gradient norm leaves the
   * parameters at their last good values and throws E_TRAIN_NOT_FINITE.
   */
  async step(micro: RewardPairIds[][], totalSteps: number, epoch: number): Promise<StepMetrics> {
    const s = await this.session.step(micro, {
      totalSteps,
      rows: (mb) => mb.length,
      feeds: (mb) => this.feeds(mb),
      responses: 'responses',
    });
    const mean = (k: string) => s.micro.reduce((a, m) => a + m.scalars[k] * m.scale, 0);
    for (const mb of micro)
      for (const p of mb) this.seen += p.chosenIds.length + p.rejectedIds.length;
    return {
      step: s.step,
      epoch,
      loss: s.loss,
      grad_norm: s.gradNorm,
      learning_rate: s.learningRate,
      accuracy: mean('accuracy'),
      margin: mean('margin'),
      min_reward: Math.min(...s.micro.map((m) => m.scalars.min_reward)),
      mean_reward: mean('mean_reward'),
      max_reward: Math.max(...s.micro.map((m) => m.scalars.max_reward)),
      num_tokens: this.seen,
      tokens_per_s: s.tokensPerS,
    };
  }

  /** The whole run: epochs of shuffled pairs, `gradAccum` micro-batches per optimizer step. */
  async train(pairs: RewardPairIds[], onStep?: (m: StepMetrics) => void): Promise<StepMetrics[]> {
    if (pairs.length === 0)
      throw new PipelineError({
        code: 'E_TRAIN_NO_DATA',
        message: 'no preference pairs to train the reward model on',
        hint: 'check the data file (pairs longer than max_length are dropped)',
      });
    return this.trainEpochs(pairs, (micro, total, epoch) => this.step(micro, total, epoch), onStep);
  }
}
