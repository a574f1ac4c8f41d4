// What DpoTrainer and KtoTrainer share: an onnxruntime session over a step graph (train-graph.ts,
// kto-graph.ts) that yields gradients, the trainable parameters and AdamW moments carried from one
// step to the next, and the optimizer step itself (optim/adamw-session.ts, in place). The trainers
// only lay out their micro-batches and name metrics.
import { PipelineError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { toOnnxBytes } from '../graph/serialize.js';
import type { LoadedModel } from '../model/load-model.js';
import type { LoraAdapter } from '../model/peft-adapter.js';
import { OrtSession, hostData, tensor, type Tensor } from '../runtime/ort-session.js';
import { initLora, loraAName, loraBName, loraModules } from './lora.js';
import { AdamWSession } from './optim/adamw-session.js';
import { learningRateAt } from './optim/schedule.js';
import type { RightPaddedBatch } from './pair-batches.js';
import { gradAccIn, gradAccOut, type TrainGraph } from './train-graph.js';
import type { TrainerOptions } from './trainer-options.js';

export type StepSessionOptions = Pick<
  TrainerOptions,
  | 'mode'
  | 'seed'
  | 'threads'
  | 'device'
  | 'lrSchedule'
  | 'learningRate'
  | 'warmupSteps'
  | 'optimizer'
>;

/** One micro-batch's feeds: its right-padded sequences and the graph's own per-row inputs. */
export interface MicroFeeds {
  batch: RightPaddedBatch;
  inputs: Record<string, Tensor>;
}

/** d loss / d param of one micro-batch (keyed like the parameters), with its loss and metrics. */
export interface MicroGradients {
  grads: Map<string, Float32Array>;
  loss: number;
  metrics: Record<string, number>;
  /** Every output of the step graph (e.g. a reward model's per-row `rewards`). */
  outputs: Record<string, Tensor>;
}

/** An optimizer step that was applied. */
export interface AppliedStep {
  /** 1-based number of this step. */
  step: number;
  learningRate: number;
  /** Mean loss over the step's rows. */
  loss: number;
  gradNorm: number;
  tokensPerS: number;
  /** Each micro-batch's scalar outputs (loss, grad_norm, the graph's metrics) and its weight. */
  micro: { scalars: Record<string, number>; scale: number }[];
}

export class StepSession {
  readonly params = new Map<string, Float32Array>();
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();
  private applied = 0;

  private constructor(
    readonly graph: TrainGraph,
    private readonly session: OrtSession,
    private readonly adamw: AdamWSession,
    private readonly opts: StepSessionOptions,
  ) {}

  /**
   * Parameters start from `base` (full) or from `initAdapter` / a fresh LoRA init; `base` must be
   * the model without any adapter merged. Moments start at zero.
   */
  static async create(
    graph: TrainGraph,
    base: LoadedModel,
    opts: StepSessionOptions,
    initAdapter?: LoraAdapter,
  ): Promise<StepSession> {
    const session = await OrtSession.create(toOnnxBytes(graph.graph), {
      threads: opts.threads,
      device: opts.device,
      memPattern: false,
    });
    const adamw = await AdamWSession.create(opts.optimizer, {
      threads: opts.threads,
      device: opts.device,
    });
    const s = new StepSession(graph, session, adamw, opts);
    // Stream 1 of the seed is LoRA init (stream 2 the data order), so a seed gives the same
    // adapter start whatever the data.
    const rng = new Rng(opts.seed).fork(1);
    if (opts.mode.kind === 'full') {
      for (const p of graph.params)
        s.params.set(p.name, Float32Array.from(base.weights.get(p.name).data));
    } else {
      const { r } = opts.mode.lora;
      for (const mod of loraModules(base.config, opts.mode.lora.targets)) {
        const given = initAdapter?.modules.get(mod.module);
        const init = given ? { a: given.a, b: given.b } : initLora(mod, r, rng);
        s.params.set(loraAName(mod.module), Float32Array.from(init.a));
        s.params.set(loraBName(mod.module), Float32Array.from(init.b));
      }
      // modules_to_save (a reward model's score head) start from the model's own tensors.
      for (const p of graph.params)
        if (!s.params.has(p.name))
          s.params.set(p.name, Float32Array.from(base.weights.get(p.name).data));
    }
    for (const p of graph.params) {
      const n = p.dims.reduce((a, b) => a * b, 1);
      s.m.set(p.name, new Float32Array(n));
      s.v.set(p.name, new Float32Array(n));
    }
    return s;
  }

  /** Optimizer steps applied so far. */
  get optimizerStep(): number {
    return this.applied;
  }

  /** One micro-batch's gradients of its whole loss, before any update. */
  async gradients(feeds: MicroFeeds): Promise<MicroGradients> {
    const out = await this.run(feeds, undefined, 1);
    return {
      grads: this.gradAcc(out),
      loss: hostData<Float32Array>(out.loss)[0],
      metrics: this.scalars(out),
      outputs: out,
    };
  }

  /**
   * One optimizer step over `micro`, each weighted by its share of the step's rows. A non-finite
   * loss or gradient norm leaves parameters and moments at their last good values and throws
   * E_TRAIN_NOT_FINITE; `responses` is what the data calls its answers, for the hint.
   */
  async step<B>(
    micro: B[],
    c: {
      totalSteps: number;
      rows: (mb: B) => number;
      feeds: (mb: B) => MicroFeeds;
      responses: 'responses' | 'completions';
    },
  ): Promise<AppliedStep> {
    const lr = learningRateAt(this.applied, {
      schedule: this.opts.lrSchedule,
      learningRate: this.opts.learningRate,
      warmupSteps: this.opts.warmupSteps,
      totalSteps: c.totalSteps,
    });
    const t0 = performance.now();
    if (micro.length > 1 && !this.graph.accumulates) {
      throw new Error('internal: several micro-batches per step need an accumulating step graph');
    }
    let acc: Map<string, Float32Array> | undefined;
    let tokens = 0;
    let loss = 0;
    let last: Record<string, Tensor> = {};
    const done: AppliedStep['micro'] = [];
    const total = micro.reduce((a, mb) => a + c.rows(mb), 0);
    for (const mb of micro) {
      // A micro-batch's loss is a mean over its rows, and micro-batches differ in size at the end
      // of an epoch: weighting by rows makes the step's loss the mean over all of them.
      const scale = c.rows(mb) / total;
      const feeds = c.feeds(mb);
      const out = await this.run(feeds, acc, scale);
      tokens += feeds.batch.tokens;
      const scalars = this.scalars(out);
      loss += scalars.loss * scale;
      done.push({ scalars, scale });
      acc = this.gradAcc(out);
      last = out;
    }
    // The last run's norm and clipping coefficient are those of all the step's gradients.
    const gradNorm = hostData<Float32Array>(last.grad_norm)[0];
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      throw new PipelineError({
        code: 'E_TRAIN_NOT_FINITE',
        message: `step ${this.applied + 1}: loss ${loss}, gradient norm ${gradNorm}: training stopped, weights kept from the last good step`,
        hint: `lower the learning rate (or beta), enable gradient clipping (max_grad_norm), or check the data for empty ${c.responses}`,
      });
    }
    const gradScale = hostData<Float32Array>(last.clip_coef)[0];
    for (const p of this.graph.params) {
      await this.adamw.step(
        {
          param: this.params.get(p.name)!,
          grad: acc!.get(p.name)!,
          m: this.m.get(p.name)!,
          v: this.v.get(p.name)!,
        },
        { gradScale, lr, step: this.applied + 1 },
      );
    }
    this.applied++;
    const seconds = (performance.now() - t0) / 1000;
    return {
      step: this.applied,
      learningRate: lr,
      loss,
      gradNorm,
      tokensPerS: tokens / seconds,
      micro: done,
    };
  }

  async close(): Promise<void> {
    await this.session.release();
    await this.adamw.close();
  }

  /**
   * One run of the step graph; `acc` is the gradient sum so far (`grad_acc_out` adds to it;
   * zeros when absent and the graph accumulates).
   */
  private async run(
    { batch, inputs }: MicroFeeds,
    acc: Map<string, Float32Array> | undefined,
    lossScale: number,
  ): Promise<Record<string, Tensor>> {
    const feeds: Record<string, Tensor> = {
      input_ids: tensor('int64', batch.inputIds, [batch.rows, batch.seq]),
      attention_mask: tensor('int64', batch.attentionMask, [batch.rows, batch.seq]),
      response_mask: tensor('float32', batch.responseMask, [batch.rows, batch.seq]),
      ...inputs,
      loss_scale: tensor('float32', Float32Array.of(lossScale), []),
    };
    for (const p of this.graph.params) {
      feeds[p.name] = tensor('float32', this.params.get(p.name)!, p.dims);
      if (this.graph.accumulates) {
        const sum = (acc ?? this.zeroGrads()).get(p.name)!;
        feeds[gradAccIn(p.name)] = tensor('float32', sum, p.dims);
      }
    }
    return this.session.run(feeds);
  }

  /** Zero accumulators, allocated once: the graph only reads them (a model-sized buffer each step otherwise). */
  private zeroGrads(): Map<string, Float32Array> {
    this.zeros ??= new Map(
      this.graph.params.map((p) => [p.name, new Float32Array(p.dims.reduce((a, b) => a * b, 1))]),
    );
    return this.zeros;
  }
  private zeros?: Map<string, Float32Array>;

  private gradAcc(out: Record<string, Tensor>): Map<string, Float32Array> {
    return new Map(
      this.graph.params.map((p) => [p.name, hostData<Float32Array>(out[gradAccOut(p.name)])]),
    );
  }

  private scalars(out: Record<string, Tensor>): Record<string, number> {
    const m: Record<string, number> = {};
    for (const name of ['loss', 'grad_norm', ...this.graph.metrics])
      m[name] = hostData<Float32Array>(out[name])[0];
    return m;
  }
}
