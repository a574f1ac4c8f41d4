// Supervised fine-tuning (TRL SFTTrainer on prompt-completion rows, completion_only_loss=True) on
// onnxruntime: the step graph (sft-graph.ts) does one forward pass per row, the token-level mean
// NLL of the completions, backward and clipping; StepSession applies AdamW. This file tokenizes
// the rows, cuts them to max_length as TRL does, and weighs micro-batches by completion tokens.
import { fail, PipelineError } from '../../core/errors.js';
import { parseSftRow, promptIds, responseIds } from '../data/trl-rows.js';
import type { ScoreSequence } from '../generate/score.js';
import type { LoadedModel } from '../model/load-model.js';
import type { LoraAdapter } from '../model/peft-adapter.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { layoutRightPadded } from './pair-batches.js';
import { requireLossAlone, SessionTrainer, stepGraphOptions } from './session-trainer.js';
import { buildSftGraph } from './sft-graph.js';
import { StepSession, type MicroFeeds, type MicroGradients } from './step-session.js';
import type { TrainerOptions } from './trainer-options.js';
import type { StepMetrics } from './trainer.js';

/** One prompt-completion row as token ids, already cut to max_length. */
export interface SftRow extends ScoreSequence {
  /** Where the row came from (`file:line`). */
  where: string;
}

/**
 * TRL prompt-completion rows → token ids, rendered as every other row type is (trl-rows.ts: chat
 * template with generation prompt for messages, completion + eos). Rows longer than `maxLength`
 * keep their first `maxLength` tokens, as TRL's SFT truncation (keep_start) does, so completions
 * lose their end; a row whose prompt alone fills `maxLength` has nothing left to learn and is
 * returned in `dropped` instead.
 */
export function tokenizeSftRows(
  tok: Tokenizer,
  rows: unknown[],
  labels: string[],
  maxLength = Infinity,
): { rows: SftRow[]; dropped: string[] } {
  const out: SftRow[] = [];
  const dropped: string[] = [];
  rows.forEach((v, i) => {
    const where = labels[i] ?? `row ${i + 1}`;
    const row = parseSftRow(v, where);
    const p = promptIds(tok, row.prompt);
    if (p.length === 0)
      fail('E_DATA_ROW', `${where}: the prompt is empty`, 'every row needs a non-empty prompt');
    const c = responseIds(tok, row.completion, where);
    const room = maxLength - p.length;
    if (room <= 0 || c.length === 0) dropped.push(where);
    else out.push({ promptIds: p, responseIds: c.slice(0, room), where });
  });
  return { rows: out, dropped };
}

const completionTokens = (rows: SftRow[]): number =>
  rows.reduce((a, r) => a + r.responseIds.length, 0);

/**
 * SFT training: like DpoTrainer (same options, parameters, moments, schedule and NaN guard), one
 * sequence per row. Step metrics: loss (mean NLL per completion token over the whole step),
 * grad_norm, learning_rate, tokens_per_s, and TRL's num_tokens (prompt + completion tokens trained
 * on so far) with completion_tokens (those of this step).
 */
export class SftTrainer extends SessionTrainer<TrainerOptions> {
  private seen = 0;

  /** `base` must be the model without any adapter merged; `initAdapter` continues a LoRA adapter. */
  static async create(
    base: LoadedModel,
    opts: TrainerOptions,
    initAdapter?: LoraAdapter,
  ): Promise<SftTrainer> {
    requireLossAlone(
      opts.losses,
      'sft',
      'SftTrainer',
      'prompt-completion rows have nothing to compare: combine sft with other losses on pairs',
    );
    const graph = buildSftGraph(stepGraphOptions(base, opts));
    const session = await StepSession.create(graph, base, opts, initAdapter);
    return new SftTrainer(session, opts, base.tokenizer.batchPadId);
  }

  private feeds(rows: SftRow[]): MicroFeeds {
    return { batch: layoutRightPadded(rows, this.padId), inputs: {} };
  }

  /** d loss / d param of one micro-batch before any update, with its loss. */
  async gradients(rows: SftRow[]): Promise<MicroGradients> {
    return this.session.gradients(this.feeds(rows));
  }

  /**
   * One optimizer step over its micro-batches. A non-finite loss or gradient norm leaves the
   * parameters at their last good values and throws E_TRAIN_NOT_FINITE.
   */
  async step(micro: SftRow[][], totalSteps: number, epoch: number): Promise<StepMetrics> {
    // Weighting micro-batches by completion tokens (not rows) keeps the step's loss the mean over
    // all its completion tokens under gradient accumulation, as transformers' num_items_in_batch
    // does; each micro-batch's graph loss is already the mean over its own tokens.
    const s = await this.session.step(micro, {
      totalSteps,
      rows: completionTokens,
      feeds: (mb) => this.feeds(mb),
      responses: 'completions',
    });
    let completion = 0;
    for (const mb of micro) {
      completion += completionTokens(mb);
      for (const r of mb) this.seen += r.promptIds.length + r.responseIds.length;
    }
    return {
      step: s.step,
      epoch,
      loss: s.loss,
      grad_norm: s.gradNorm,
      learning_rate: s.learningRate,
      num_tokens: this.seen,
      completion_tokens: completion,
      tokens_per_s: s.tokensPerS,
    };
  }

  /** The whole run: epochs of shuffled rows, `gradAccum` micro-batches per optimizer step. */
  async train(rows: SftRow[], onStep?: (m: StepMetrics) => void): Promise<StepMetrics[]> {
    if (rows.length === 0)
      throw new PipelineError({
        code: 'E_TRAIN_NO_DATA',
        message: 'no SFT rows to train on',
        hint: 'check the data file (rows whose prompt fills max_length are dropped)',
      });
    return this.trainEpochs(rows, (micro, total, epoch) => this.step(micro, total, epoch), onStep);
  }
}
