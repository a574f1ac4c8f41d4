import { PipelineError } from '../errors.js';
import { Rng } from '../generate/rng.js';
import { scoreSequences } from '../generate/score.js';
import { toOnnxBytes } from '../graph/serialize.js';
import {
  buildLogprobsGraph,
  initializerBinder,
  type WeightTable,
} from '../model/inference-graphs.js';
import type { LoadedModel } from '../model/load-model.js';
import type { LoraAdapter } from '../model/peft-adapter.js';
import { OrtSession, hostData, tensor, type Device, type Tensor } from '../runtime/ort-session.js';
import type { LossOptions, LossType } from './losses/index.js';
import { initLora, loraAName, loraBName, loraModules } from './lora.js';
import { learningRateAt } from './optim/schedule.js';
import { layoutPairs, shuffled, type TokenizedPair } from './pair-batches.js';
import {
  buildTrainGraph,
  gradAccIn,
  gradAccOut,
  momentM,
  momentV,
  updated,
  updatedM,
  updatedV,
  type OptimizerSpec,
  type TrainGraph,
  type TrainMode,
} from './train-graph.js';

export interface TrainerOptions {
  mode: TrainMode;
  losses: LossType[];
  lossWeights: number[];
  lossOptions: LossOptions;
  optimizer: OptimizerSpec;
  learningRate: number;
  lrSchedule: 'constant' | 'linear' | 'cosine';
  warmupSteps: number;
  epochs: number;
  /** Optimizer steps; overrides epochs when set. */
  maxSteps?: number;
  /** Pairs per micro-batch (TRL per_device_train_batch_size). */
  batchSize: number;
  gradAccum: number;
  seed: number;
  threads?: number;
  device?: Device;
}

/** Per optimizer step, with TRL's metric names. */
export type StepMetrics = {
  step: number;
  epoch: number;
  loss: number;
  grad_norm: number;
  learning_rate: number;
  tokens_per_s: number;
} & Record<string, number>;

/** Reference log-probs of a pair (sums over response tokens). */
interface RefLogps {
  chosen: number;
  rejected: number;
}

/**
 * DPO-family training on onnxruntime: the step graph (train-graph.ts) does forward, loss,
 * backward, clipping and AdamW; this class feeds it micro-batches, keeps parameters and moments
 * between steps, and refuses to apply a step whose loss or gradient is not finite.
 */
export class DpoTrainer {
  readonly params = new Map<string, Float32Array>();
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();
  private optimizerStep = 0;

  private constructor(
    readonly graph: TrainGraph,
    private readonly session: OrtSession,
    private readonly opts: TrainerOptions,
    private readonly padId: number,
  ) {}

  /**
   * `base` must be the model without any adapter merged (its weights are the frozen base);
   * `initAdapter` continues training an existing LoRA adapter.
   */
  static async create(
    base: LoadedModel,
    opts: TrainerOptions,
    initAdapter?: LoraAdapter,
  ): Promise<DpoTrainer> {
    const graph = buildTrainGraph({
      cfg: base.config,
      weights: base.weights,
      mode: opts.mode,
      losses: opts.losses,
      lossWeights: opts.lossWeights,
      lossOptions: opts.lossOptions,
      optimizer: opts.optimizer,
    });
    const session = await OrtSession.create(toOnnxBytes(graph.graph), {
      threads: opts.threads,
      device: opts.device,
    });
    const tok = base.tokenizer;
    const trainer = new DpoTrainer(graph, session, opts, tok.padTokenId ?? tok.eosTokenIds[0] ?? 0);
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

  /** Reference log-probs, computed once per training run with the inference graph. */
  static async referenceLogps(
    ref: { config: LoadedModel['config']; weights: WeightTable },
    pairs: TokenizedPair[],
    opts: { padId: number; threads?: number; device?: Device; batchSize?: number },
  ): Promise<RefLogps[]> {
    const session = await OrtSession.create(
      toOnnxBytes(buildLogprobsGraph(ref.config, initializerBinder(ref.weights))),
      { threads: opts.threads, device: opts.device },
    );
    try {
      const seqs = pairs.flatMap((p) => [
        { promptIds: p.promptIds, responseIds: p.chosenIds },
        { promptIds: p.promptIds, responseIds: p.rejectedIds },
      ]);
      const scores = await scoreSequences(session, seqs, {
        padId: opts.padId,
        batchSize: opts.batchSize,
      });
      return pairs.map((_, i) => ({
        chosen: scores[2 * i].logps,
        rejected: scores[2 * i + 1].logps,
      }));
    } finally {
      await session.release();
    }
  }

  totalSteps(nPairs: number): number {
    const perStep = this.opts.batchSize * this.opts.gradAccum;
    return this.opts.maxSteps ?? this.opts.epochs * Math.ceil(nPairs / perStep);
  }

  /**
   * Run one micro-batch through the step graph. Returns the graph's outputs; gradients are the
   * running sum `grad_acc_out` (loss already scaled by `lossScale`).
   */
  private async runMicro(
    pairs: TokenizedPair[],
    refs: RefLogps[] | undefined,
    acc: Map<string, Float32Array>,
    lossScale: number,
    lr: number,
  ): Promise<{ out: Record<string, Tensor>; tokens: number }> {
    const batch = layoutPairs(pairs, this.padId);
    const feeds: Record<string, Tensor> = {
      input_ids: tensor('int64', batch.inputIds, [batch.rows, batch.seq]),
      attention_mask: tensor('int64', batch.attentionMask, [batch.rows, batch.seq]),
      response_mask: tensor('float32', batch.responseMask, [batch.rows, batch.seq]),
      loss_scale: tensor('float32', Float32Array.of(lossScale), []),
      learning_rate: tensor('float32', Float32Array.of(lr), []),
      step: tensor('float32', Float32Array.of(this.optimizerStep + 1), []),
    };
    if (this.graph.needsReference) {
      if (!refs)
        throw new PipelineError({
          code: 'E_TRAIN_REFERENCE',
          message: 'this loss needs reference log-probs but none were computed',
          hint: 'compute them with DpoTrainer.referenceLogps first',
        });
      feeds.ref_chosen_logps = tensor(
        'float32',
        Float32Array.from(refs, (r) => r.chosen),
        [pairs.length],
      );
      feeds.ref_rejected_logps = tensor(
        'float32',
        Float32Array.from(refs, (r) => r.rejected),
        [pairs.length],
      );
    }
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

  /**
   * d loss / d param of one batch before any update (keyed like the parameters), for checking
   * our gradients against PyTorch (`--dump-grads`).
   */
  async gradients(
    pairs: TokenizedPair[],
    refs?: RefLogps[],
  ): Promise<{ grads: Map<string, Float32Array>; loss: number; metrics: Record<string, number> }> {
    const { out } = await this.runMicro(pairs, refs, this.zeroGrads(), 1, 0);
    const grads = new Map(
      this.graph.params.map((p) => [p.name, hostData<Float32Array>(out[gradAccOut(p.name)])]),
    );
    return { grads, loss: hostData<Float32Array>(out.loss)[0], metrics: this.scalars(out) };
  }

  private scalars(out: Record<string, Tensor>): Record<string, number> {
    const m: Record<string, number> = {};
    for (const name of ['loss', 'grad_norm', ...this.graph.metrics])
      m[name] = hostData<Float32Array>(out[name])[0];
    return m;
  }

  /**
   * One optimizer step over `gradAccum` micro-batches. A non-finite loss or gradient norm leaves
   * the parameters at their last good values and throws E_TRAIN_NOT_FINITE.
   */
  async step(
    micro: { pairs: TokenizedPair[]; refs?: RefLogps[] }[],
    totalSteps: number,
    epoch: number,
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
    const sums: Record<string, number> = {};
    let last: Record<string, Tensor> = {};
    const pairsTotal = micro.reduce((a, mb) => a + mb.pairs.length, 0);
    for (const mb of micro) {
      // Micro-batches may differ in size at the end of an epoch: weight each by its pairs.
      const scale = mb.pairs.length / pairsTotal;
      const { out, tokens: t } = await this.runMicro(mb.pairs, mb.refs, acc, scale, lr);
      tokens += t;
      const s = this.scalars(out);
      for (const [k, v] of Object.entries(s))
        if (k !== 'grad_norm') sums[k] = (sums[k] ?? 0) + v * scale;
      acc = new Map(
        this.graph.params.map((p) => [p.name, hostData<Float32Array>(out[gradAccOut(p.name)])]),
      );
      last = out;
    }
    const gradNorm = hostData<Float32Array>(last.grad_norm)[0];
    if (!Number.isFinite(sums.loss) || !Number.isFinite(gradNorm)) {
      throw new PipelineError({
        code: 'E_TRAIN_NOT_FINITE',
        message: `step ${this.optimizerStep + 1}: loss ${sums.loss}, gradient norm ${gradNorm}: training stopped, weights kept from the last good step`,
        hint: 'lower the learning rate (or beta), enable gradient clipping (max_grad_norm), or check the data for empty responses',
      });
    }
    for (const p of this.graph.params) {
      this.params.set(p.name, hostData<Float32Array>(last[updated(p.name)]));
      this.m.set(p.name, hostData<Float32Array>(last[updatedM(p.name)]));
      this.v.set(p.name, hostData<Float32Array>(last[updatedV(p.name)]));
    }
    this.optimizerStep++;
    const seconds = (performance.now() - t0) / 1000;
    return {
      ...sums,
      step: this.optimizerStep,
      epoch,
      loss: sums.loss,
      grad_norm: gradNorm,
      learning_rate: lr,
      tokens_per_s: tokens / seconds,
    };
  }

  /** The whole run: epochs of shuffled pairs, `gradAccum` micro-batches per optimizer step. */
  async train(
    pairs: TokenizedPair[],
    refs: RefLogps[] | undefined,
    onStep?: (m: StepMetrics) => void,
  ): Promise<StepMetrics[]> {
    if (pairs.length === 0)
      throw new PipelineError({
        code: 'E_TRAIN_NO_DATA',
        message: 'no preference pairs to train on',
        hint: 'check the data file',
      });
    const total = this.totalSteps(pairs.length);
    const rng = new Rng(this.opts.seed).fork(2);
    const indexed = pairs.map((p, i) => ({ p, r: refs?.[i] }));
    const history: StepMetrics[] = [];
    let epoch = 0;
    let order = shuffled(indexed, rng);
    let cursor = 0;
    while (this.optimizerStep < total) {
      const micro: { pairs: TokenizedPair[]; refs?: RefLogps[] }[] = [];
      for (let k = 0; k < this.opts.gradAccum; k++) {
        if (cursor >= order.length) {
          epoch++;
          order = shuffled(indexed, rng);
          cursor = 0;
          if (micro.length) break; // an optimizer step never spans two epochs
        }
        const slice = order.slice(cursor, cursor + this.opts.batchSize);
        cursor += slice.length;
        micro.push({
          pairs: slice.map((x) => x.p),
          refs: refs ? slice.map((x) => x.r!) : undefined,
        });
      }
      const m = await this.step(micro, total, epoch + cursor / order.length);
      history.push(m);
      onStep?.(m);
    }
    return history;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
