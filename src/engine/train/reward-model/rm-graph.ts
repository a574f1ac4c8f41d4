// One reward-model training step as one ONNX graph: the rewards of P chosen and P rejected
// sequences (rewards.ts), the Bradley–Terry loss (losses/bradley-terry.ts), and train-graph.ts's
// backward, gradient accumulation and clipping; AdamW runs after it (StepSession).
import { buildBradleyTerryLoss, type RewardLossOptions } from '../losses/bradley-terry.js';
import {
  beginStepGraph,
  finishStepGraph,
  stepInputs,
  type TrainGraph,
  type TrainGraphSpec,
} from '../train-graph.js';
import { sequenceRewards } from './rewards.js';

export interface RewardGraphSpec extends Pick<
  TrainGraphSpec,
  'cfg' | 'weights' | 'mode' | 'optimizer' | 'accumulate' | 'gradientCheckpointing' | 'float'
> {
  loss: RewardLossOptions;
  /** The id batches are padded with, and that transformers' head skips (config pad_token_id). */
  padId: number | undefined;
}

/**
 * inputs  input_ids, attention_mask [2P, S] int64 (chosen rows, then rejected rows, right-padded;
 *         TRL's DataCollatorForPreference order), response_mask [2P, S] (unused: every step graph
 *         takes it), pair_margin [P] float (zeros for rows without one), loss_scale, and per trainable
 *         parameter p: p (score.weight among them) and grad_acc.p when accumulating.
 * outputs loss, rewards [2P] (chosen then rejected), accuracy, margin, min_reward, mean_reward,
 *         max_reward, grad_acc_out.p, grad_norm, clip_coef.
 */
export function buildRewardGraph(spec: RewardGraphSpec): TrainGraph {
  const { b, float, binder, params, inputIds, attentionMask } = beginStepGraph('rm_step', spec);
  const margin = b.input('pair_margin', float, ['pairs']);
  const inputs = stepInputs(b);

  const rewards = sequenceRewards(b, spec.cfg, binder, {
    inputIds,
    attentionMask,
    padId: spec.padId,
    checkpointLayers: spec.gradientCheckpointing,
  }); // [2P]
  const pairs = b.div(b.shape(inputIds, 0, 1), b.constI64(2)); // [1] = P
  const chosen = b.slice(rewards, [0], pairs, [0]);
  const rejected = b.slice(rewards, pairs, [Number.MAX_SAFE_INTEGER], [0]);

  const { loss, metrics } = buildBradleyTerryLoss(b, { chosen, rejected, margin }, spec.loss);
  b.output(rewards, 'rewards', float, ['rows']);
  return finishStepGraph(b, { spec, params, loss, metrics, inputs, needsReference: false });
}
