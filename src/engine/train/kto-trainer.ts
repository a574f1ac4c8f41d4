// KTO training (TRL KTOTrainer semantics) on onnxruntime: the step graph (kto-graph.ts) does both
// forward passes, the loss, backward, clipping and AdamW; this file tokenizes unpaired rows,
// fixes the batches (and with them the mismatched KL completions) before training so reference
// log-probs can be precomputed for exactly those sequences, and runs the steps.
import { fail, PipelineError } from '../../core/errors.js';
import { parseKtoRow, promptIds, responseIds } from '../data/trl-rows.js';
import { Rng } from '../../core/rng.js';
import type { ScoreSequence } from '../generate/score.js';
import type { LoadedModel } from '../model/load-model.js';
import type { LoraAdapter } from '../model/peft-adapter.js';
import { tensor } from '../runtime/ort-session.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { buildKtoGraph } from './kto-graph.js';
import { epochSteps, layoutRightPadded, runSteps, truncatePair } from './pair-batches.js';
import { requireLossAlone, SessionTrainer, stepGraphOptions } from './session-trainer.js';
import { StepSession, type MicroFeeds } from './step-session.js';
import {
  referenceSequenceLogps,
  type ReferenceModel,
  type ReferenceOptions,
  type StepMetrics,
} from './trainer.js';
import type { TrainerOptions } from './trainer-options.js';

/** One unpaired row as token ids, untruncated (a KL sequence pairs its prompt with another completion). */
export interface TokenizedKtoRow {
  promptIds: number[];
  completionIds: number[];
  desirable: boolean;
  /** Where the row came from (`file:line`). */
  where: string;
}

export interface KtoTrainerOptions extends TrainerOptions {
  /** Prompt + completion tokens at most, per sequence (prompt start cut first); default: no limit. */
  maxLength?: number;
}

/** A micro-batch: row indices, and for each the row whose completion forms its KL sequence. */
export interface KtoMicroBatch {
  rows: number[];
  kl: number[];
}

/** One optimizer step of the plan: its micro-batches and the epoch position reported with it. */
export interface KtoStepPlan {
  epoch: number;
  micro: KtoMicroBatch[];
}

/**
 * Reference log-prob sums: `matched[i]` of row i's own sequence, `kl` of (prompt p, completion c)
 * keyed by {@link klKey}; computed for the sequences of one plan.
 */
export interface KtoReference {
  matched: number[];
  kl: Map<string, number>;
}

export const klKey = (prompt: number, completion: number): string => `${prompt}>${completion}`;

/** TRL KTO rows → token ids, with the same conventions as the paired rows (trl-rows.ts). */
export function tokenizeKtoRows(
  tok: Tokenizer,
  rows: unknown[],
  labels: string[],
): TokenizedKtoRow[] {
  return rows.map((v, i) => {
    const where = labels[i] ?? `row ${i + 1}`;
    const row = parseKtoRow(v, where);
    const p = promptIds(tok, row.prompt);
    if (p.length === 0)
      fail('E_DATA_ROW', `${where}: the prompt is empty`, 'every row needs a non-empty prompt');
    return {
      promptIds: p,
      completionIds: responseIds(tok, row.completion, where),
      desirable: row.label,
      where,
    };
  });
}

/** Prompt of row `p` + completion of row `c`, cut to `maxLength` as DPO rows are. */
export function ktoSequence(
  rows: TokenizedKtoRow[],
  p: number,
  c: number,
  maxLength = Infinity,
): ScoreSequence {
  const ids = rows[c].completionIds;
  const t = truncatePair(
    { promptIds: rows[p].promptIds, chosenIds: ids, rejectedIds: ids, where: rows[p].where },
    maxLength,
  );
  return { promptIds: t.promptIds, responseIds: t.chosenIds };
}

/**
 * The batches of a whole run, fixed before training so the reference log-probs of the KL
 * sequences (which depend on who shares a batch) can be computed once, up front.
 *
 * Rows are shuffled per epoch with the seed and cut into micro-batches exactly as DpoTrainer.train
 * does (gradAccum micro-batches per step; a step never spans two epochs). Within each micro-batch
 * completions rotate by one, as TRL's `_get_kl_dataset` does: row k gets the completion of row
 * k − 1 and the first row that of the last, so the KL completions are the batch's own completions
 * paired with other prompts (what the KTO paper recommends). TRL rotates fixed chunks of the
 * unshuffled dataset instead; rotating the actual training batch follows its docstring more
 * closely. A micro-batch of one row (an epoch's tail) borrows the completion of the row before it.
 */
export function planKtoSteps(
  n: number,
  opts: Pick<TrainerOptions, 'batchSize' | 'gradAccum' | 'epochs' | 'maxSteps' | 'seed'>,
): KtoStepPlan[] {
  checkKtoBatching(n, opts.batchSize);
  const total = runSteps(n, opts);
  const all = Array.from({ length: n }, (_, i) => i);
  const batches = epochSteps(all, opts, new Rng(opts.seed).fork(2));
  const steps: KtoStepPlan[] = [];
  // The row before a micro-batch in its epoch's order: a one-row micro-batch is an epoch's tail,
  // never its start (batchSize ≥ 2), so that is the last row of the micro-batch before it.
  let before = -1;
  while (steps.length < total) {
    const { epoch, micro } = batches.next().value;
    steps.push({
      epoch,
      micro: micro.map((rows) => {
        const kl =
          rows.length > 1
            ? rows.map((_, j) => rows[(j - 1 + rows.length) % rows.length])
            : [before];
        before = rows[rows.length - 1];
        return { rows, kl };
      }),
    });
  }
  return steps;
}

function checkKtoBatching(n: number, batchSize: number): void {
  if (n < 2)
    fail(
      'E_TRAIN_NO_DATA',
      `KTO needs at least 2 rows, got ${n}`,
      'the KL estimate pairs each prompt with another row’s completion',
    );
  if (batchSize < 2)
    fail(
      'E_LOSS_CONFIG',
      `KTO needs a batch size of at least 2, got ${batchSize}`,
      'with one row per batch the KL term equals the implied reward (TRL refuses this too)',
    );
}

/**
 * KTO training: like DpoTrainer (same options, parameters, moments and NaN guard), on unpaired
 * rows. Step metrics use TRL's names: loss, grad_norm, learning_rate, kl, rewards/chosen,
 * rewards/rejected, rewards/margins, logps/chosen, logps/rejected, plus count/chosen and
 * count/rejected (rows of each label in the step) and tokens_per_s.
 */
export class KtoTrainer extends SessionTrainer<KtoTrainerOptions> {
  /**
   * `base` must be the model without any adapter merged; `initAdapter` continues training an
   * existing LoRA adapter. `opts.losses` must be `['kto']`.
   */
  static async create(
    base: LoadedModel,
    opts: KtoTrainerOptions,
    initAdapter?: LoraAdapter,
  ): Promise<KtoTrainer> {
    requireLossAlone(
      opts.losses,
      'kto',
      'KtoTrainer',
      'kto works on unpaired rows and cannot be combined with paired losses',
    );
    const graph = buildKtoGraph(stepGraphOptions(base, opts));
    const session = await StepSession.create(graph, base, opts, initAdapter);
    return new KtoTrainer(session, opts, base.tokenizer.batchPadId);
  }

  /**
   * Reference log-probs of every sequence a plan uses (each distinct sequence scored once), with
   * the inference graph.
   */
  static async referenceLogps(
    ref: ReferenceModel,
    rows: TokenizedKtoRow[],
    plan: KtoStepPlan[],
    opts: ReferenceOptions & { maxLength?: number },
  ): Promise<KtoReference> {
    const pairs = new Map<string, [number, number]>();
    for (let i = 0; i < rows.length; i++) pairs.set(klKey(i, i), [i, i]);
    for (const s of plan)
      for (const mb of s.micro)
        mb.rows.forEach((p, k) => pairs.set(klKey(p, mb.kl[k]), [p, mb.kl[k]]));
    const keys = [...pairs.keys()];
    const logps = await referenceSequenceLogps(
      ref,
      keys.map((k) => {
        const [p, c] = pairs.get(k)!;
        return ktoSequence(rows, p, c, opts.maxLength);
      }),
      opts,
    );
    const byKey = new Map(keys.map((k, i) => [k, logps[i]]));
    return { matched: rows.map((_, i) => byKey.get(klKey(i, i))!), kl: byKey };
  }

  /** The batches this trainer will run on `n` rows (see planKtoSteps). */
  plan(n: number): KtoStepPlan[] {
    return planKtoSteps(n, this.opts);
  }

  private refOf(refs: KtoReference, p: number, c: number): number {
    const v = p === c ? refs.matched[p] : refs.kl.get(klKey(p, c));
    if (v === undefined)
      throw new PipelineError({
        code: 'E_TRAIN_REFERENCE',
        message: `no reference log-prob for prompt ${p} with completion ${c}`,
        hint: 'compute the references with KtoTrainer.referenceLogps for the same plan (seed, batch size, steps)',
      });
    return v;
  }

  /** The step graph's inputs for one micro-batch: B matched rows, then their B KL rows. */
  private feeds(rows: TokenizedKtoRow[], refs: KtoReference, mb: KtoMicroBatch): MicroFeeds {
    const B = mb.rows.length;
    const seqs = [
      ...mb.rows.map((p) => ktoSequence(rows, p, p, this.opts.maxLength)),
      ...mb.rows.map((p, k) => ktoSequence(rows, p, mb.kl[k], this.opts.maxLength)),
    ];
    return {
      batch: layoutRightPadded(seqs, this.padId),
      inputs: {
        label: tensor(
          'float32',
          Float32Array.from(mb.rows, (p) => (rows[p].desirable ? 1 : 0)),
          [B],
        ),
        ref_logps: tensor(
          'float32',
          Float32Array.from(mb.rows, (p) => this.refOf(refs, p, p)),
          [B],
        ),
        ref_kl_logps: tensor(
          'float32',
          Float32Array.from(mb.rows, (p, k) => this.refOf(refs, p, mb.kl[k])),
          [B],
        ),
      },
    };
  }

  /** d loss / d param of one micro-batch before any update, with the graph's raw metrics. */
  async gradients(
    rows: TokenizedKtoRow[],
    refs: KtoReference,
    mb: KtoMicroBatch,
  ): Promise<{ grads: Map<string, Float32Array>; loss: number; metrics: Record<string, number> }> {
    return this.session.gradients(this.feeds(rows, refs, mb));
  }

  /**
   * One optimizer step over its micro-batches. A non-finite loss or gradient norm leaves the
   * parameters at their last good values and throws E_TRAIN_NOT_FINITE.
   */
  async step(
    rows: TokenizedKtoRow[],
    refs: KtoReference,
    plan: KtoStepPlan,
    totalSteps: number,
  ): Promise<StepMetrics> {
    const s = await this.session.step(plan.micro, {
      totalSteps,
      rows: (mb) => mb.rows.length,
      feeds: (mb) => this.feeds(rows, refs, mb),
      responses: 'completions',
    });
    const sum: Record<string, number> = {};
    let kl = 0;
    for (const { scalars, scale } of s.micro) {
      kl += scalars.kl * scale;
      for (const k of [
        'rewards/chosen_sum',
        'rewards/rejected_sum',
        'logps/chosen_sum',
        'logps/rejected_sum',
        'count/chosen',
        'count/rejected',
      ])
        sum[k] = (sum[k] ?? 0) + scalars[k];
    }
    // TRL's KTOTrainer.log: per-label means are Σ sums / Σ counts over the whole step, not means
    // of micro-batch means (micro-batches hold different numbers of each label). An empty label
    // reports 0, as buildKtoLoss does.
    const per = (x: number, n: number) => (n > 0 ? x / n : 0);
    const nC = sum['count/chosen'];
    const nR = sum['count/rejected'];
    const rc = per(sum['rewards/chosen_sum'], nC);
    const rr = per(sum['rewards/rejected_sum'], nR);
    return {
      step: s.step,
      epoch: plan.epoch,
      loss: s.loss,
      grad_norm: s.gradNorm,
      learning_rate: s.learningRate,
      kl,
      'rewards/chosen': rc,
      'rewards/rejected': rr,
      'rewards/margins': rc - rr,
      'logps/chosen': per(sum['logps/chosen_sum'], nC),
      'logps/rejected': per(sum['logps/rejected_sum'], nR),
      'count/chosen': nC,
      'count/rejected': nR,
      tokens_per_s: s.tokensPerS,
    };
  }

  /** The whole run over the plan (see planKtoSteps); `refs` must cover the same plan. */
  async train(
    rows: TokenizedKtoRow[],
    refs: KtoReference,
    onStep?: (m: StepMetrics) => void,
  ): Promise<StepMetrics[]> {
    if (rows.length === 0)
      throw new PipelineError({
        code: 'E_TRAIN_NO_DATA',
        message: 'no KTO rows to train on',
        hint: 'check the data file',
      });
    const plan = this.plan(rows.length);
    const history: StepMetrics[] = [];
    for (const s of plan.slice(this.session.optimizerStep)) {
      const m = await this.step(rows, refs, s, plan.length);
      history.push(m);
      onStep?.(m);
    }
    return history;
  }
}
