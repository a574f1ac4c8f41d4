// KTO training (TRL KTOTrainer semantics) on onnxruntime: the step graph (kto-graph.ts) does both
// forward passes, the loss, backward, clipping and AdamW; this file tokenizes unpaired rows,
// fixes the batches (and with them the mismatched KL completions) before training so reference
// log-probs can be precomputed for exactly those sequences, and runs the steps.
import { fail, PipelineError } from '../errors.js';
import { parseKtoRow, promptIds, responseIds } from '../data/trl-rows.js';
import { Rng } from '../generate/rng.js';
import { scoreSequences, type ScoreSequence } from '../generate/score.js';
import { toOnnxBytes } from '../graph/serialize.js';
import {
  buildLogprobsGraph,
  initializerBinder,
  type WeightTable,
} from '../model/inference-graphs.js';
import type { LoadedModel } from '../model/load-model.js';
import type { LoraAdapter } from '../model/peft-adapter.js';
import { OrtSession, hostData, tensor, type Device, type Tensor } from '../runtime/ort-session.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { buildKtoGraph } from './kto-graph.js';
import { initLora, loraAName, loraBName, loraModules } from './lora.js';
import { learningRateAt } from './optim/schedule.js';
import { shuffled, truncatePair } from './pair-batches.js';
import {
  gradAccIn,
  gradAccOut,
  momentM,
  momentV,
  updated,
  updatedM,
  updatedV,
  type TrainGraph,
} from './train-graph.js';
import type { StepMetrics, TrainerOptions } from './trainer.js';

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
  const total = opts.maxSteps ?? opts.epochs * Math.ceil(n / (opts.batchSize * opts.gradAccum));
  const rng = new Rng(opts.seed).fork(2);
  const all = Array.from({ length: n }, (_, i) => i);
  const steps: KtoStepPlan[] = [];
  let epoch = 0;
  let order = shuffled(all, rng);
  let cursor = 0;
  while (steps.length < total) {
    const micro: KtoMicroBatch[] = [];
    for (let k = 0; k < opts.gradAccum; k++) {
      if (cursor >= order.length) {
        epoch++;
        order = shuffled(all, rng);
        cursor = 0;
        if (micro.length) break;
      }
      const rows = order.slice(cursor, cursor + opts.batchSize);
      const kl =
        rows.length > 1
          ? rows.map((_, j) => rows[(j - 1 + rows.length) % rows.length])
          : [order[cursor - 1]];
      cursor += rows.length;
      micro.push({ rows, kl });
    }
    steps.push({ epoch: epoch + cursor / order.length, micro });
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

/** Micro-batch layout: B matched rows then B KL rows, right-padded to one length. */
function layoutKto(
  seqs: ScoreSequence[],
  padId: number,
): {
  rows: number;
  seq: number;
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  responseMask: Float32Array;
  tokens: number;
} {
  const rows = seqs.length;
  const seq = Math.max(...seqs.map((s) => s.promptIds.length + s.responseIds.length));
  const inputIds = new BigInt64Array(rows * seq).fill(BigInt(padId));
  const attentionMask = new BigInt64Array(rows * seq);
  const responseMask = new Float32Array(rows * seq);
  let tokens = 0;
  seqs.forEach((s, r) => {
    const all = [...s.promptIds, ...s.responseIds];
    tokens += all.length;
    for (let t = 0; t < all.length; t++) {
      inputIds[r * seq + t] = BigInt(all[t]);
      attentionMask[r * seq + t] = 1n;
      if (t >= s.promptIds.length) responseMask[r * seq + t] = 1;
    }
  });
  return { rows, seq, inputIds, attentionMask, responseMask, tokens };
}

/**
 * KTO training: like DpoTrainer (same options, parameters, moments and NaN guard), on unpaired
 * rows. Step metrics use TRL's names: loss, grad_norm, learning_rate, kl, rewards/chosen,
 * rewards/rejected, rewards/margins, logps/chosen, logps/rejected, plus count/chosen and
 * count/rejected (rows of each label in the step) and tokens_per_s.
 */
export class KtoTrainer {
  readonly params = new Map<string, Float32Array>();
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();
  private optimizerStep = 0;

  private constructor(
    readonly graph: TrainGraph,
    private readonly session: OrtSession,
    private readonly opts: KtoTrainerOptions,
    private readonly padId: number,
  ) {}

  /**
   * `base` must be the model without any adapter merged; `initAdapter` continues training an
   * existing LoRA adapter. `opts.losses` must be `['kto']`.
   */
  static async create(
    base: LoadedModel,
    opts: KtoTrainerOptions,
    initAdapter?: LoraAdapter,
  ): Promise<KtoTrainer> {
    if (opts.losses.length !== 1 || opts.losses[0] !== 'kto')
      fail(
        'E_LOSS_CONFIG',
        `KtoTrainer trains loss "kto" alone, got ${opts.losses.join(', ')}`,
        'kto works on unpaired rows and cannot be combined with paired losses',
      );
    const graph = buildKtoGraph({
      cfg: base.config,
      weights: base.weights,
      mode: opts.mode,
      lossOptions: opts.lossOptions,
      optimizer: opts.optimizer,
    });
    const session = await OrtSession.create(toOnnxBytes(graph.graph), {
      threads: opts.threads,
      device: opts.device,
    });
    const tok = base.tokenizer;
    const trainer = new KtoTrainer(graph, session, opts, tok.padTokenId ?? tok.eosTokenIds[0] ?? 0);
    const rng = new Rng(opts.seed).fork(1);
    if (opts.mode.kind === 'full') {
      for (const p of graph.params)
        trainer.params.set(p.name, Float32Array.from(base.weights.get(p.name).data));
    } else {
      const { r } = opts.mode.lora;
      for (const mod of loraModules(base.config, opts.mode.lora.targets)) {
        const given = initAdapter?.modules.get(mod.module);
        const init = given ? { a: given.a, b: given.b } : initLora(mod, r, rng);
        trainer.params.set(loraAName(mod.module), Float32Array.from(init.a));
        trainer.params.set(loraBName(mod.module), Float32Array.from(init.b));
      }
    }
    for (const p of graph.params) {
      const n = p.dims.reduce((a, b) => a * b, 1);
      trainer.m.set(p.name, new Float32Array(n));
      trainer.v.set(p.name, new Float32Array(n));
    }
    return trainer;
  }

  /**
   * Reference log-probs of every sequence a plan uses (each distinct sequence scored once), with
   * the inference graph.
   */
  static async referenceLogps(
    ref: { config: LoadedModel['config']; weights: WeightTable },
    rows: TokenizedKtoRow[],
    plan: KtoStepPlan[],
    opts: {
      padId: number;
      maxLength?: number;
      threads?: number;
      device?: Device;
      batchSize?: number;
    },
  ): Promise<KtoReference> {
    const pairs = new Map<string, [number, number]>();
    for (let i = 0; i < rows.length; i++) pairs.set(klKey(i, i), [i, i]);
    for (const s of plan)
      for (const mb of s.micro)
        mb.rows.forEach((p, k) => pairs.set(klKey(p, mb.kl[k]), [p, mb.kl[k]]));
    const keys = [...pairs.keys()];
    const session = await OrtSession.create(
      toOnnxBytes(buildLogprobsGraph(ref.config, initializerBinder(ref.weights))),
      { threads: opts.threads, device: opts.device },
    );
    try {
      const scores = await scoreSequences(
        session,
        keys.map((k) => {
          const [p, c] = pairs.get(k)!;
          return ktoSequence(rows, p, c, opts.maxLength);
        }),
        { padId: opts.padId, batchSize: opts.batchSize },
      );
      const byKey = new Map(keys.map((k, i) => [k, scores[i].logps]));
      return { matched: rows.map((_, i) => byKey.get(klKey(i, i))!), kl: byKey };
    } finally {
      await session.release();
    }
  }

  /** The batches this trainer will run on `n` rows (see planKtoSteps). */
  plan(n: number): KtoStepPlan[] {
    return planKtoSteps(n, this.opts);
  }

  totalSteps(n: number): number {
    const perStep = this.opts.batchSize * this.opts.gradAccum;
    return this.opts.maxSteps ?? this.opts.epochs * Math.ceil(n / perStep);
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

  private async runMicro(
    rows: TokenizedKtoRow[],
    refs: KtoReference,
    mb: KtoMicroBatch,
    acc: Map<string, Float32Array>,
    lossScale: number,
    lr: number,
  ): Promise<{ out: Record<string, Tensor>; tokens: number }> {
    const B = mb.rows.length;
    const seqs = [
      ...mb.rows.map((p) => ktoSequence(rows, p, p, this.opts.maxLength)),
      ...mb.rows.map((p, k) => ktoSequence(rows, p, mb.kl[k], this.opts.maxLength)),
    ];
    const batch = layoutKto(seqs, this.padId);
    const feeds: Record<string, Tensor> = {
      input_ids: tensor('int64', batch.inputIds, [batch.rows, batch.seq]),
      attention_mask: tensor('int64', batch.attentionMask, [batch.rows, batch.seq]),
      response_mask: tensor('float32', batch.responseMask, [batch.rows, batch.seq]),
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
      loss_scale: tensor('float32', Float32Array.of(lossScale), []),
      learning_rate: tensor('float32', Float32Array.of(lr), []),
      step: tensor('float32', Float32Array.of(this.optimizerStep + 1), []),
    };
    for (const p of this.graph.params) {
      feeds[p.name] = tensor('float32', this.params.get(p.name)!, p.dims);
      feeds[momentM(p.name)] = tensor('float32', this.m.get(p.name)!, p.dims);
      feeds[momentV(p.name)] = tensor('float32', this.v.get(p.name)!, p.dims);
      feeds[gradAccIn(p.name)] = tensor('float32', acc.get(p.name)!, p.dims);
    }
    const out = await this.session.run(feeds);
    return { out, tokens: batch.tokens };
  }

  private zeroGrads(): Map<string, Float32Array> {
    return new Map(
      this.graph.params.map((p) => [p.name, new Float32Array(p.dims.reduce((a, b) => a * b, 1))]),
    );
  }

  private scalars(out: Record<string, Tensor>): Record<string, number> {
    const m: Record<string, number> = {};
    for (const name of ['loss', 'grad_norm', ...this.graph.metrics])
      m[name] = hostData<Float32Array>(out[name])[0];
    return m;
  }

  /** d loss / d param of one micro-batch before any update, with the graph's raw metrics. */
  async gradients(
    rows: TokenizedKtoRow[],
    refs: KtoReference,
    mb: KtoMicroBatch,
  ): Promise<{ grads: Map<string, Float32Array>; loss: number; metrics: Record<string, number> }> {
    const { out } = await this.runMicro(rows, refs, mb, this.zeroGrads(), 1, 0);
    const grads = new Map(
      this.graph.params.map((p) => [p.name, hostData<Float32Array>(out[gradAccOut(p.name)])]),
    );
    return { grads, loss: hostData<Float32Array>(out.loss)[0], metrics: this.scalars(out) };
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
    const lr = learningRateAt(this.optimizerStep, {
      schedule: this.opts.lrSchedule,
      learningRate: this.opts.learningRate,
      warmupSteps: this.opts.warmupSteps,
      totalSteps,
    });
    const t0 = performance.now();
    let acc = this.zeroGrads();
    let tokens = 0;
    let last: Record<string, Tensor> = {};
    const total = plan.micro.reduce((a, mb) => a + mb.rows.length, 0);
    const sum: Record<string, number> = {};
    let loss = 0;
    let kl = 0;
    for (const mb of plan.micro) {
      // Each micro-batch's loss is a mean over its rows: weight by rows for the step's mean.
      const scale = mb.rows.length / total;
      const { out, tokens: t } = await this.runMicro(rows, refs, mb, acc, scale, lr);
      tokens += t;
      const s = this.scalars(out);
      loss += s.loss * scale;
      kl += s.kl * scale;
      for (const k of [
        'rewards/chosen_sum',
        'rewards/rejected_sum',
        'logps/chosen_sum',
        'logps/rejected_sum',
        'count/chosen',
        'count/rejected',
      ])
        sum[k] = (sum[k] ?? 0) + s[k];
      acc = new Map(
        this.graph.params.map((p) => [p.name, hostData<Float32Array>(out[gradAccOut(p.name)])]),
      );
      last = out;
    }
    const gradNorm = hostData<Float32Array>(last.grad_norm)[0];
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      throw new PipelineError({
        code: 'E_TRAIN_NOT_FINITE',
        message: `step ${this.optimizerStep + 1}: loss ${loss}, gradient norm ${gradNorm}: training stopped, weights kept from the last good step`,
        hint: 'lower the learning rate (or beta), enable gradient clipping (max_grad_norm), or check the data for empty completions',
      });
    }
    for (const p of this.graph.params) {
      this.params.set(p.name, hostData<Float32Array>(last[updated(p.name)]));
      this.m.set(p.name, hostData<Float32Array>(last[updatedM(p.name)]));
      this.v.set(p.name, hostData<Float32Array>(last[updatedV(p.name)]));
    }
    this.optimizerStep++;
    const seconds = (performance.now() - t0) / 1000;
    // TRL's KTOTrainer.log: per-label means are Σ sums / Σ counts over the whole step, not means
    // of micro-batch means (micro-batches hold different numbers of each label). An empty label
    // reports 0, as buildKtoLoss does.
    const per = (x: number, n: number) => (n > 0 ? x / n : 0);
    const nC = sum['count/chosen'];
    const nR = sum['count/rejected'];
    const rc = per(sum['rewards/chosen_sum'], nC);
    const rr = per(sum['rewards/rejected_sum'], nR);
    return {
      step: this.optimizerStep,
      epoch: plan.epoch,
      loss,
      grad_norm: gradNorm,
      learning_rate: lr,
      kl,
      'rewards/chosen': rc,
      'rewards/rejected': rr,
      'rewards/margins': rc - rr,
      'logps/chosen': per(sum['logps/chosen_sum'], nC),
      'logps/rejected': per(sum['logps/rejected_sum'], nR),
      'count/chosen': nC,
      'count/rejected': nR,
      tokens_per_s: tokens / seconds,
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
    for (const s of plan.slice(this.optimizerStep)) {
      const m = await this.step(rows, refs, s, plan.length);
      history.push(m);
      onStep?.(m);
    }
    return history;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
