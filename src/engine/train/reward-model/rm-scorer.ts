// A trained reward model in use: load a sequence-classification checkpoint (ours or any
// transformers one with a one-label `score` head) and score sequences, e.g. a judge's
// (prompt, completion) rows or held-out pairs.
import { fail } from '../../../core/errors.js';
import { toOnnxBytes } from '../../graph/serialize.js';
import { initializerBinder } from '../../model/inference-graphs.js';
import { loadModel, type LoadedModel } from '../../model/load-model.js';
import { OrtSession, hostData, tensor, type Device } from '../../runtime/ort-session.js';
import { layoutRightPadded } from '../pair-batches.js';
import { buildRewardsGraph } from './rewards.js';
import { tokenizeCompletionRows, type RewardPairIds } from './rm-rows.js';

export interface RewardScorerOptions {
  threads?: number;
  device?: Device;
  /** Sequences per run (default 8). */
  batchSize?: number;
}

export class RewardModelScorer {
  private constructor(
    readonly model: LoadedModel,
    private readonly session: OrtSession,
    /** The id transformers' head skips (config pad_token_id); undefined: none. */
    readonly padId: number | undefined,
    private readonly batchSize: number,
  ) {}

  /**
   * Open a reward model folder. A causal LM (no score head), or a classifier with more than one
   * label, is refused with a PipelineError saying so.
   */
  static async open(ref: string, opts: RewardScorerOptions = {}): Promise<RewardModelScorer> {
    const model = loadModel(ref);
    try {
      const head = model.config.scoreHead;
      if (!head)
        fail(
          'E_RM_NO_SCORE_HEAD',
          `${ref} is a ${model.config.architecture} checkpoint without a score head, not a reward model`,
          'pass a folder written by `pipeline train-rm` or any …ForSequenceClassification checkpoint with num_labels 1 (config.json architectures and score.weight)',
        );
      if (head.numLabels !== 1)
        fail(
          'E_RM_LABELS',
          `${ref} is a classifier with ${head.numLabels} labels; a reward model has one`,
          'a reward model is a …ForSequenceClassification checkpoint with num_labels 1 (one id2label entry)',
        );
      const padId = model.config.padTokenId;
      const graph = buildRewardsGraph(model.config, initializerBinder(model.weights), padId);
      const session = await OrtSession.create(toOnnxBytes(graph), {
        threads: opts.threads,
        device: opts.device,
      });
      return new RewardModelScorer(model, session, padId, opts.batchSize ?? 8);
    } catch (e) {
      model.close();
      throw e;
    }
  }

  /** r(sequence) of each token sequence (whole sequences, as the model reads them). */
  async scoreIds(seqs: number[][]): Promise<number[]> {
    const fill = this.padId ?? this.model.tokenizer.batchPadId;
    const out: number[] = [];
    for (let i = 0; i < seqs.length; i += this.batchSize) {
      const chunk = seqs.slice(i, i + this.batchSize);
      const batch = layoutRightPadded(
        chunk.map((ids) => ({ promptIds: ids, responseIds: [] })),
        fill,
      );
      const res = await this.session.run({
        input_ids: tensor('int64', batch.inputIds, [batch.rows, batch.seq]),
        attention_mask: tensor('int64', batch.attentionMask, [batch.rows, batch.seq]),
      });
      out.push(...hostData<Float32Array>(res.rewards));
    }
    return out;
  }

  /** Rewards of TRL prompt-completion rows; `labels[i]` (e.g. `file:line`) locates row i in errors. */
  scoreRows(rows: unknown[], labels: string[] = []): Promise<number[]> {
    return this.scoreIds(tokenizeCompletionRows(this.model.tokenizer, rows, labels));
  }

  /** Rewards of both sides of tokenized pairs. */
  async scorePairs(pairs: RewardPairIds[]): Promise<{ chosen: number[]; rejected: number[] }> {
    const r = await this.scoreIds([
      ...pairs.map((p) => p.chosenIds),
      ...pairs.map((p) => p.rejectedIds),
    ]);
    return { chosen: r.slice(0, pairs.length), rejected: r.slice(pairs.length) };
  }

  async close(): Promise<void> {
    await this.session.release();
    this.model.close();
  }
}
