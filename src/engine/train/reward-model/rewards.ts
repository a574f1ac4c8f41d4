// The reward of each sequence as graph ops: transformers' GenericForSequenceClassification
// (modeling_layers.py) on the Llama-family decoder. The decoder's final hidden state (after the
// final norm, what lm_head would read) at the row's last non-pad token, times score.weight
// [1, hidden] (no bias).
import { GraphBuilder, type V } from '../../graph/builder.js';
import type { Graph } from '../../graph/ir.js';
import type { ModelConfig } from '../../model/config.js';
import { llamaHidden, type WeightBinder } from '../../model/llama-graph.js';
import { rightPaddedPositions } from '../train-graph.js';

/** Checkpoint key of the reward head (transformers' `score` Linear). */
export const SCORE_WEIGHT = 'score.weight';

/**
 * Index into the flattened [R·S] batch of each row's last scored token, int64 [R].
 *
 * transformers takes the rightmost position whose id is not pad_token_id (argmax of t · [id ≠ pad]),
 * so a sequence that ends in the pad id itself (pad = eos, text ending in eos) is scored at the
 * token before. Positions outside the attention mask are excluded too, so batches padded with
 * another id give the same rows. `padId` undefined (a config without pad_token_id) scores the last
 * attended token, what transformers does for a batch of one.
 */
export function lastTokenPositions(
  b: GraphBuilder,
  inputIds: V,
  attentionMask: V,
  padId: number | undefined,
): V {
  return b.scope('last_token', () => {
    const one = b.constI64(1);
    const seq = b.shape(inputIds, 1, 2); // [1] = S
    const rows = b.shape(inputIds, 0, 1); // [1] = R
    let keep = b.equal(attentionMask, one); // [R, S] bool
    if (padId !== undefined)
      keep = b.and(keep, b.op1('Not', [b.equal(inputIds, b.constI64(padId))]));
    const t = b.range(b.constI64(0), b.squeeze(seq, [0]), one); // [S]
    const last = b.reduceMax(b.mul(b.cast(keep, 'int64'), t), [1], false); // [R]
    const rowIds = b.range(b.constI64(0), b.squeeze(rows, [0]), one); // [R]
    return b.add(b.mul(rowIds, seq), last); // [R]
  });
}

/** r(x, y) of every row of a right-padded batch, float [R]. */
export function sequenceRewards(
  b: GraphBuilder,
  cfg: ModelConfig,
  binder: WeightBinder,
  batch: { inputIds: V; attentionMask: V; padId: number | undefined; checkpointLayers?: boolean },
): V {
  const { inputIds, attentionMask } = batch;
  const { hidden } = llamaHidden(b, cfg, binder, {
    inputIds,
    attentionMask,
    positionIds: rightPaddedPositions(b, inputIds),
    logitPositions: lastTokenPositions(b, inputIds, attentionMask, batch.padId),
    checkpointLayers: batch.checkpointLayers,
  }); // [R, H]
  return b.scope('score', () => {
    const w = binder.weight(b, SCORE_WEIGHT); // [1, H]
    return b.squeeze(b.matMul(hidden, b.transpose(w, [1, 0])), [1]); // [R]
  });
}

/**
 * The reward model for inference: inputs input_ids, attention_mask [R, S] int64 (right-padded),
 * output rewards [R]; weights from `binder` (initializers).
 */
export function buildRewardsGraph(
  cfg: ModelConfig,
  binder: WeightBinder,
  padId: number | undefined,
  float: 'float32' | 'float64' = 'float32',
): Graph {
  const b = new GraphBuilder('rewards', float);
  const inputIds = b.input('input_ids', 'int64', ['rows', 'seq']);
  const attentionMask = b.input('attention_mask', 'int64', ['rows', 'seq']);
  const rewards = sequenceRewards(b, cfg, binder, { inputIds, attentionMask, padId });
  b.output(rewards, 'rewards', float, ['rows']);
  return b.build();
}
