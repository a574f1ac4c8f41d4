import { PipelineError } from '../../core/errors.js';
import { scoreSequences, type ScoreSequence } from '../generate/score.js';
import { toOnnxBytes } from '../graph/serialize.js';
import {
  buildLogprobsGraph,
  initializerBinder,
  type WeightTable,
} from '../model/inference-graphs.js';
import type { LoadedModel } from '../model/load-model.js';
import type { LoraAdapter } from '../model/peft-adapter.js';
import { OrtSession, tensor, type Device, type Tensor } from '../runtime/ort-session.js';
import { layoutPairs, type TokenizedPair } from './pair-batches.js';
import { SessionTrainer, stepGraphOptions } from './session-trainer.js';
import { StepSession, type MicroFeeds } from './step-session.js';
import type { TrainerOptions } from './trainer-options.js';
import { buildTrainGraph } from './train-graph.js';

/** Per optimizer step, with TRL's metric names. */
export type StepMetrics = {
  step: number;
  epoch: number;
  loss: number;
  grad_norm: number;
  learning_rate: number;
  tokens_per_s: number;
} & Record<string, number>;

/** The frozen model reference log-probs come from. */
export type ReferenceModel = { config: LoadedModel['config']; weights: WeightTable };

/** How reference log-probs are scored (`padId` fills the right-padded batches). */
export interface ReferenceOptions {
  padId: number;
  threads?: number;
  device?: Device;
  batchSize?: number;
}

/** Reference log-probs of a pair (sums over response tokens). */
interface RefLogps {
  chosen: number;
  rejected: number;
}

/**
 * DPO-family training on onnxruntime: the step graph (train-graph.ts) does forward, loss,
 * backward and the clipping norm; StepSession applies AdamW in place, keeps parameters and
 * moments between steps and refuses to apply a step whose loss or gradient is not finite; this
 * class lays out the pairs.
 */
export class DpoTrainer extends SessionTrainer<TrainerOptions> {
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
      ...stepGraphOptions(base, opts),
      losses: opts.losses,
      lossWeights: opts.lossWeights,
    });
    const session = await StepSession.create(graph, base, opts, initAdapter);
    return new DpoTrainer(session, opts, base.tokenizer.batchPadId);
  }

  /** Reference log-probs, computed once per training run with the inference graph. */
  static async referenceLogps(
    ref: ReferenceModel,
    pairs: TokenizedPair[],
    opts: ReferenceOptions,
  ): Promise<RefLogps[]> {
    const logps = await referenceSequenceLogps(
      ref,
      pairs.flatMap((p) => [
        { promptIds: p.promptIds, responseIds: p.chosenIds },
        { promptIds: p.promptIds, responseIds: p.rejectedIds },
      ]),
      opts,
    );
    return pairs.map((_, i) => ({ chosen: logps[2 * i], rejected: logps[2 * i + 1] }));
  }

  /** The step graph's inputs for one micro-batch of pairs. */
  private feeds(pairs: TokenizedPair[], refs: RefLogps[] | undefined): MicroFeeds {
    const batch = layoutPairs(pairs, this.padId);
    const inputs: Record<string, Tensor> = {};
    if (this.graph.needsReference) {
      if (!refs)
        throw new PipelineError({
          code: 'E_TRAIN_REFERENCE',
          message: 'this loss needs reference log-probs but none were computed',
          hint: 'compute them with DpoTrainer.referenceLogps first',
        });
      inputs.ref_chosen_logps = tensor(
        'float32',
        Float32Array.from(refs, (r) => r.chosen),
        [pairs.length],
      );
      inputs.ref_rejected_logps = tensor(
        'float32',
        Float32Array.from(refs, (r) => r.rejected),
        [pairs.length],
      );
    }
    if (this.opts.lossOptions.softLabels) {
      // a pair without a label of its own keeps the scalar cDPO smoothing: p = 1 − ε
      const hard = 1 - this.opts.lossOptions.labelSmoothing;
      inputs.pair_label = tensor(
        'float32',
        Float32Array.from(pairs, (p) => p.softLabel ?? hard),
        [pairs.length],
      );
    }
    return { batch, inputs };
  }

  /**
   * d loss / d param of one batch before any update (keyed like the parameters), for checking
   * our gradients against PyTorch (`--dump-grads`).
   */
  async gradients(
    pairs: TokenizedPair[],
    refs?: RefLogps[],
  ): Promise<{ grads: Map<string, Float32Array>; loss: number; metrics: Record<string, number> }> {
    return this.session.gradients(this.feeds(pairs, refs));
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
    const s = await this.session.step(micro, {
      totalSteps,
      rows: (mb) => mb.pairs.length,
      feeds: (mb) => this.feeds(mb.pairs, mb.refs),
      responses: 'responses',
    });
    // The step's metrics are the micro-batches', weighted like their losses.
    const sums: Record<string, number> = {};
    for (const { scalars, scale } of s.micro)
      for (const [k, v] of Object.entries(scalars))
        if (k !== 'grad_norm') sums[k] = (sums[k] ?? 0) + v * scale;
    return {
      ...sums,
      step: s.step,
      epoch,
      loss: s.loss,
      grad_norm: s.gradNorm,
      learning_rate: s.learningRate,
      tokens_per_s: s.tokensPerS,
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
    const indexed = pairs.map((p, i) => ({ p, r: refs?.[i] }));
    return this.trainEpochs(
      indexed,
      (micro, total, epoch) =>
        this.step(
          micro.map((slice) => ({
            pairs: slice.map((x) => x.p),
            refs: refs ? slice.map((x) => x.r!) : undefined,
          })),
          total,
          epoch,
        ),
      onStep,
    );
  }
}

/**
 * Sum of response-token log-probs of each sequence under a reference model (the inference graph
 * on a session of its own, released after).
 */
export async function referenceSequenceLogps(
  ref: ReferenceModel,
  seqs: ScoreSequence[],
  opts: ReferenceOptions,
): Promise<number[]> {
  const session = await OrtSession.create(
    toOnnxBytes(buildLogprobsGraph(ref.config, initializerBinder(ref.weights))),
    { threads: opts.threads, device: opts.device },
  );
  try {
    const scores = await scoreSequences(session, seqs, {
      padId: opts.padId,
      batchSize: opts.batchSize,
    });
    return scores.map((s) => s.logps);
  } finally {
    await session.release();
  }
}
