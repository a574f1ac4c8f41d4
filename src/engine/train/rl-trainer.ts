// Online RL (GRPO, RLOO, REINFORCE++, PPO) on onnxruntime: given a batch of sampled completions and
// their rewards, compute π_old and π_ref token log-probs (and PPO's values), the algorithm's
// advantages, and run
// `numIterations` optimizer steps of the clipped policy-gradient loss over the batch (each step
// one pass over all rows, cut into micro-batches). The caller samples and rewards; the policy's
// current weights are readable for the next sampling (policyWeights).
import { Rng } from '../../core/rng.js';
import type { ScoreSequence } from '../generate/score.js';
import { toOnnxBytes } from '../graph/serialize.js';
import { initializerBinder, type WeightTable } from '../model/inference-graphs.js';
import type { LoadedModel } from '../model/load-model.js';
import { mergeLora, type LoraAdapter } from '../model/peft-adapter.js';
import { OrtSession, hostData, tensor, type Tensor } from '../runtime/ort-session.js';
import {
  grpoAdvantages,
  klShapedRewards,
  ppoAdvantages,
  type PpoAdvantageOptions,
  reinforcePpAdvantages,
  rlooAdvantages,
  type ScaleRewards,
} from './advantages.js';
import { loraAName, loraBName, loraModules, loraScale } from './lora.js';
import type { PolicyGradientOptions } from './losses/policy-gradient.js';
import type { PpoLossOptions } from './losses/ppo.js';
import { layoutRightPadded, type RightPaddedBatch } from './pair-batches.js';
import { buildRlGraph, buildTokenLogpsGraph, trainableTokenBinder } from './rl-graph.js';
import { StepSession, type MicroFeeds } from './step-session.js';
import type { TrainerOptions } from './trainer-options.js';
import { withValueHead, withValueHeadMode } from './value-head.js';

export type RlAlgorithm = 'grpo' | 'rloo' | 'reinforce_pp' | 'reinforce_pp_baseline' | 'ppo';
export const RL_ALGORITHMS: readonly RlAlgorithm[] = [
  'grpo',
  'rloo',
  'reinforce_pp',
  'reinforce_pp_baseline',
  'ppo',
];

/** PPO's own options (TRL PPOConfig names); its policy clip is `loss.epsilon`, its KL coefficient `loss.beta`. */
export interface PpoOptions
  extends Omit<PpoLossOptions, 'cliprange'>, Omit<PpoAdvantageOptions, 'klCoef'> {}

export interface RlTrainerOptions extends Omit<
  TrainerOptions,
  'losses' | 'lossWeights' | 'lossOptions' | 'epochs'
> {
  algorithm: RlAlgorithm;
  /** The loss; for REINFORCE++ `beta` is the reward's KL coefficient and the loss has none. */
  loss: PolicyGradientOptions;
  /** Sampling temperature: token log-probs are of logits / temperature (TRL's convention). */
  temperature: number;
  /** Optimizer steps per generation batch (GRPOConfig.num_iterations, μ of the paper). */
  numIterations: number;
  scaleRewards: ScaleRewards;
  /** Truncated completions (no end-of-sequence) get no loss (GRPOConfig.mask_truncated_completions). */
  maskTruncatedCompletions: boolean;
  /** Completions per optimizer step (prompts × group size): micro-batches of batchSize accumulate. */
  rowsPerStep: number;
  /** Optimizer steps of the whole run, for the learning-rate schedule. */
  totalSteps: number;
  /** algorithm ppo: the critic and GAE (numIterations is PPOConfig.num_ppo_epochs). */
  ppo?: PpoOptions;
}

/** One sampled completion of a prompt. */
export interface RlRow {
  promptIds: number[];
  completionIds: number[];
  /** Generation stopped at max_completion_length, not at an end-of-sequence token. */
  truncated: boolean;
}

/** PPO's own step metrics (losses/ppo.ts), token means over the step's micro-batches. */
const PPO_STEP_METRICS = [
  'pg_loss',
  'value_loss',
  'policy/approxkl',
  'policy/clipfrac',
  'val/clipfrac',
  'val/ratio',
] as const;

/** One optimizer step's numbers (TRL's names). */
export interface RlStepMetrics {
  step: number;
  iteration: number;
  loss: number;
  grad_norm: number;
  learning_rate: number;
  /** Token means over the step's completion tokens. */
  kl?: number;
  entropy: number;
  'clip_ratio/low_mean': number;
  'clip_ratio/high_mean': number;
  'clip_ratio/region_mean': number;
  /** PPO (TRL's names): the value head's loss, ½ · mean(Δlog π²), the clipped shares. */
  value_loss?: number;
  pg_loss?: number;
  'policy/approxkl'?: number;
  'policy/clipfrac'?: number;
  'val/clipfrac'?: number;
  'val/ratio'?: number;
  /** PPO, of the batch before its updates: 1 − Var(R − V_old) / Var(R) over its tokens. */
  'val/explained_variance'?: number;
  /** PPO: mean over the batch's completions of Σ_t KL_t and of Σ_t −kl_coef · KL_t (TRL objective/*). */
  'objective/kl'?: number;
  'objective/non_score_reward'?: number;
}

export interface RlBatchResult {
  steps: RlStepMetrics[];
  /** Per row: its advantage (the token mean for REINFORCE++). */
  advantages: number[];
  /** Per row: Σ log π_old and Σ log π_ref over its completion tokens (at the temperature). */
  oldLogps: number[];
  refLogps?: number[];
  /** Per row: whether it trained (false when masked as truncated or when it has no tokens). */
  trained: boolean[];
}

/**
 * The reference enters through β (the loss's KL term; REINFORCE++'s reward): without it there is
 * no reference pass at all.
 */
const needsReference = (o: Pick<RlTrainerOptions, 'loss'>) => o.loss.beta !== 0;

export class RlTrainer {
  private policyPass?: OrtSession;
  private refPass?: OrtSession;
  private readonly padId: number;

  private constructor(
    private readonly base: LoadedModel,
    private readonly ref: LoadedModel,
    private readonly session: StepSession,
    private readonly opts: RlTrainerOptions,
  ) {
    this.padId = base.tokenizer.batchPadId;
  }

  /**
   * `base`: the policy's starting weights (no adapter merged; LoRA starts from B = 0, so the
   * round-start policy is `base`). `ref`: the reference model (default `base`, TRL's default with
   * PEFT: the base without the adapter). `initAdapter` continues an earlier round's adapter.
   */
  static async create(
    policy: LoadedModel,
    options: RlTrainerOptions,
    ref: LoadedModel = policy,
    initAdapter?: LoraAdapter,
  ): Promise<RlTrainer> {
    const isPpo = options.algorithm === 'ppo';
    if (isPpo && !options.ppo) throw new Error('internal: algorithm ppo without its options');
    // PPO trains a value head beside the policy (value-head.ts): a fresh seeded head per run.
    const base = isPpo ? withValueHead(policy, options.seed) : policy;
    const opts = isPpo ? { ...options, mode: withValueHeadMode(options.mode) } : options;
    const graph = buildRlGraph({
      cfg: base.config,
      weights: base.weights,
      mode: opts.mode,
      optimizer: opts.optimizer,
      accumulate: opts.rowsPerStep > opts.batchSize,
      gradientCheckpointing: opts.gradientCheckpointing,
      // REINFORCE++ and RLOO put β into the reward, not the loss
      loss:
        opts.algorithm === 'grpo'
          ? opts.loss
          : { ...opts.loss, beta: 0, form: opts.algorithm === 'rloo' ? 'rloo' : 'grpo' },
      temperature: opts.temperature,
      ppo: isPpo ? { ...opts.ppo!, cliprange: opts.loss.epsilon } : undefined,
    });
    const session = await StepSession.create(graph, base, opts, initAdapter);
    return new RlTrainer(base, ref, session, opts);
  }

  get params(): Map<string, Float32Array> {
    return this.session.params;
  }

  get optimizerStep(): number {
    return this.session.optimizerStep;
  }

  /**
   * The policy's current weights by checkpoint key (LoRA merged: W + scale · B·A), for sampling
   * the next batch. A fresh table: later steps do not change it.
   */
  policyWeights(): WeightTable {
    const params = new Map(this.session.params);
    const mode = this.opts.mode;
    if (mode.kind === 'full') {
      return {
        get: (key) => {
          const p = params.get(key);
          return p
            ? { dims: this.base.weights.get(key).dims, data: p }
            : this.base.weights.get(key);
        },
        external: (key) => (params.has(key) ? undefined : this.base.weights.external?.(key)),
      };
    }
    const targeted = new Set(loraModules(this.base.config, mode.lora.targets).map((m) => m.module));
    const scale = loraScale(mode.lora);
    return {
      external: (key) =>
        targeted.has(key.replace(/\.weight$/, '')) ? undefined : this.base.weights.external?.(key),
      get: (key) => {
        const w = this.base.weights.get(key);
        const module = key.replace(/\.weight$/, '');
        if (!targeted.has(module)) return w;
        const a = params.get(loraAName(module))!;
        const b = params.get(loraBName(module))!;
        return {
          dims: w.dims,
          data: mergeLora(w.data, w.dims[0], w.dims[1], { a, b }, mode.lora.r, scale),
        };
      },
    };
  }

  /**
   * Train on one generation batch: `rows` in groups of `groupSize` consecutive completions of one
   * prompt, `rewards[i]` row i's combined reward.
   */
  async trainOnBatch(
    rows: RlRow[],
    rewards: number[],
    groupSize: number,
    onStep?: (m: RlStepMetrics) => void,
  ): Promise<RlBatchResult> {
    const o = this.opts;
    if (o.algorithm === 'ppo') return this.trainPpo(rows, rewards, onStep);
    const { trained, seqs } = trainedRows(rows, o.maskTruncatedCompletions);
    const old = await this.tokenLogps('policy', seqs);
    const ref = needsReference(o) ? await this.tokenLogps('ref', seqs) : undefined;

    let tokenAdvantages: number[][];
    let advantages: number[];
    if (isReinforce(o.algorithm)) {
      tokenAdvantages = reinforcePpAdvantages(rewards, old, ref ?? old, o.loss.beta, {
        groupSize,
        baseline: o.algorithm === 'reinforce_pp_baseline',
      });
      advantages = tokenAdvantages.map((a) =>
        a.length ? a.reduce((x, y) => x + y, 0) / a.length : 0,
      );
    } else {
      advantages =
        o.algorithm === 'rloo'
          ? rlooAdvantages(klShapedRewards(rewards, old, ref, o.loss.beta), groupSize)
          : grpoAdvantages(rewards, groupSize, o.scaleRewards);
      tokenAdvantages = seqs.map((s, i) => s.responseIds.map(() => advantages[i]));
    }

    const micro = microBatches(rows.length, o.batchSize);
    const stepTokens = seqs.reduce((a, s) => a + s.responseIds.length, 0);

    const steps = await this.iterate(
      micro,
      (mb) =>
        this.feeds(
          mb.map((i) => seqs[i]),
          mb.map((i) => old[i]),
          ref && mb.map((i) => ref[i]),
          mb.map((i) => tokenAdvantages[i]),
          // dapo: Σ ℓ·m / T over the step; this micro-batch's loss is scaled by its row share,
          // so its normalizer is T · rows_m / R.
          (stepTokens * mb.length) / rows.length,
        ),
      (m, mean) => {
        if (this.session.graph.metrics.includes('kl')) m.kl = mean('kl');
        else if (ref) m.kl = meanKl(old, ref); // RLOO, REINFORCE++: the k1 estimate in the reward
      },
      onStep,
    );
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    return {
      steps,
      advantages,
      oldLogps: old.map(sum),
      refLogps: ref?.map(sum),
      trained,
    };
  }

  /**
   * PPO on one batch (TRL PPOTrainer.train): π_old, V_old and π_ref over the completions, the
   * KL-shaped rewards and GAE (advantages.ts ppoAdvantages), then num_ppo_epochs optimizer steps,
   * each one pass over every row (PPOConfig.num_mini_batches = 1).
   */
  private async trainPpo(
    rows: RlRow[],
    scores: number[],
    onStep?: (m: RlStepMetrics) => void,
  ): Promise<RlBatchResult> {
    const o = this.opts;
    const { trained, seqs } = trainedRows(rows, o.maskTruncatedCompletions);
    const { logps: old, values } = await this.tokenPass('policy', seqs);
    const ref = needsReference(o) ? await this.tokenLogps('ref', seqs) : undefined;
    const gae = ppoAdvantages(scores, old, ref ?? old, values!, { ...o.ppo!, klCoef: o.loss.beta });

    const micro = microBatches(rows.length, o.batchSize);
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const n = rows.length || 1;
    const batch = {
      'val/explained_variance': explainedVariance(gae.returns.flat(), values!.flat()),
      'objective/kl': sum(gae.kl) / n,
      'objective/non_score_reward': sum(gae.nonScoreReward) / n,
    };
    const steps = await this.iterate(
      micro,
      (mb) =>
        this.ppoFeeds(
          mb.map((i) => seqs[i]),
          mb.map((i) => old[i]),
          mb.map((i) => gae.advantages[i]),
          mb.map((i) => values![i]),
          mb.map((i) => gae.returns[i]),
        ),
      (m, mean) => {
        for (const k of PPO_STEP_METRICS) m[k] = mean(k);
        Object.assign(m, batch);
        if (ref) m.kl = meanKl(old, ref);
      },
      onStep,
    );
    return {
      steps,
      advantages: gae.advantages.map((a) => (a.length ? sum(a) / a.length : 0)),
      oldLogps: old.map(sum),
      refLogps: ref?.map(sum),
      trained,
    };
  }

  /**
   * numIterations optimizer steps over the batch's micro-batches; each step's metrics are the
   * common ones (token means over its micro-batches) plus what `more` adds.
   */
  private async iterate(
    micro: number[][],
    feeds: (mb: number[]) => MicroFeeds,
    more: (m: RlStepMetrics, mean: (name: string) => number) => void,
    onStep?: (m: RlStepMetrics) => void,
  ): Promise<RlStepMetrics[]> {
    const steps: RlStepMetrics[] = [];
    for (let it = 0; it < this.opts.numIterations; it++) {
      const applied = await this.session.step(micro, {
        totalSteps: this.opts.totalSteps,
        rows: (mb) => mb.length,
        feeds,
        responses: 'completions',
      });
      const mean = tokenMeanOf(applied.micro);
      const m: RlStepMetrics = {
        step: applied.step,
        iteration: it + 1,
        loss: applied.loss,
        grad_norm: applied.gradNorm,
        learning_rate: applied.learningRate,
        entropy: mean('entropy'),
        'clip_ratio/low_mean': mean('clip_ratio/low_mean'),
        'clip_ratio/high_mean': mean('clip_ratio/high_mean'),
        'clip_ratio/region_mean': mean('clip_ratio/region_mean'),
      };
      more(m, mean);
      steps.push(m);
      onStep?.(m);
    }
    return steps;
  }

  /** PPO's step-graph feeds for one micro-batch (also what the parity test drives directly). */
  ppoFeeds(
    seqs: ScoreSequence[],
    old: number[][],
    advantages: number[][],
    values: number[][],
    returns: number[][],
  ): MicroFeeds {
    const batch = layoutRightPadded(seqs, this.padId);
    const perToken = laidOut(seqs, batch);
    return {
      batch,
      inputs: {
        old_logps: perToken(old),
        advantages: perToken(advantages),
        old_values: perToken(values),
        returns: perToken(returns),
      },
    };
  }

  /** The step graph's feeds for one micro-batch (also what the parity test drives directly). */
  feeds(
    seqs: ScoreSequence[],
    old: number[][],
    ref: number[][] | undefined,
    advantages: number[][],
    normalizer: number,
  ): MicroFeeds {
    const batch = layoutRightPadded(seqs, this.padId);
    const perToken = laidOut(seqs, batch);
    const inputs: Record<string, Tensor> = {
      old_logps: perToken(old),
      advantages: perToken(advantages),
      loss_normalizer: tensor('float32', Float32Array.of(normalizer), []),
    };
    if (this.session.graph.needsReference) inputs.ref_logps = perToken(ref ?? old);
    return { batch, inputs };
  }

  /** d loss / d param of one micro-batch at the current weights (no update): for parity tests. */
  gradients(feeds: MicroFeeds) {
    return this.session.gradients(feeds);
  }

  /**
   * Per-token log-probs (at the temperature) of each sequence's response tokens: `policy` at the
   * current weights (π_old before a batch's updates), `ref` from the reference weights.
   */
  async tokenLogps(which: 'policy' | 'ref', seqs: ScoreSequence[]): Promise<number[][]> {
    return (await this.tokenPass(which, seqs)).logps;
  }

  /** tokenLogps, and for PPO's policy pass the value head's V of each token's state. */
  async tokenPass(
    which: 'policy' | 'ref',
    seqs: ScoreSequence[],
  ): Promise<{ logps: number[][]; values?: number[][] }> {
    const withValues = which === 'policy' && this.opts.algorithm === 'ppo';
    const sessionOpts = { threads: this.opts.threads, device: this.opts.device };
    let session: OrtSession;
    if (which === 'policy') {
      this.policyPass ??= await OrtSession.create(
        toOnnxBytes(
          buildTokenLogpsGraph(
            this.base.config,
            trainableTokenBinder({
              cfg: this.base.config,
              weights: this.base.weights,
              mode: this.opts.mode,
            }),
            this.opts.temperature,
            withValues,
          ),
        ),
        sessionOpts,
      );
      session = this.policyPass;
    } else {
      this.refPass ??= await OrtSession.create(
        toOnnxBytes(
          buildTokenLogpsGraph(
            this.ref.config,
            () => initializerBinder(this.ref.weights),
            this.opts.temperature,
          ),
        ),
        sessionOpts,
      );
      session = this.refPass;
    }
    const out: number[][] = [];
    const values: number[][] = [];
    const bs = Math.max(1, this.opts.batchSize);
    for (let i = 0; i < seqs.length; i += bs) {
      const chunk = seqs.slice(i, i + bs);
      if (chunk.every((s) => s.responseIds.length === 0)) {
        for (const _ of chunk) {
          out.push([]);
          values.push([]);
        }
        continue;
      }
      const batch = layoutRightPadded(chunk, this.padId);
      const feeds: Record<string, Tensor> = batchFeeds(batch);
      if (which === 'policy')
        for (const p of this.session.graph.params)
          feeds[p.name] = tensor('float32', this.session.params.get(p.name)!, p.dims);
      const res = await session.run(feeds);
      const lp = hostData<Float32Array>(res.token_logps);
      const v = withValues ? hostData<Float32Array>(res.token_values) : undefined;
      chunk.forEach((s, r) => {
        const start = r * batch.seq + s.promptIds.length;
        out.push(Array.from(lp.subarray(start, start + s.responseIds.length)));
        if (v) values.push(Array.from(v.subarray(start, start + s.responseIds.length)));
      });
    }
    return withValues ? { logps: out, values } : { logps: out };
  }

  async close(): Promise<void> {
    await this.session.close();
    await this.policyPass?.release();
    await this.refPass?.release();
  }
}

/**
 * Which rows train (a completion, and not a truncated one when those are masked) and the
 * sequences the passes see (an untrained row keeps its prompt and no completion tokens).
 */
function trainedRows(rows: RlRow[], maskTruncated: boolean) {
  const trained = rows.map((r) => r.completionIds.length > 0 && !(maskTruncated && r.truncated));
  const seqs: ScoreSequence[] = rows.map((r, i) => ({
    promptIds: r.promptIds,
    responseIds: trained[i] ? r.completionIds : [],
  }));
  return { trained, seqs };
}

/** Row indices in micro-batches of `size`, in row order (a batch is already one shuffled draw). */
function microBatches(rows: number, size: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < rows; i += size)
    out.push([...Array(Math.min(size, rows - i)).keys()].map((k) => i + k));
  return out;
}

/** Per-token values of each sequence's completion laid out like input_ids [R, S] (0 elsewhere). */
function laidOut(seqs: ScoreSequence[], batch: RightPaddedBatch) {
  return (vals: number[][]): Tensor => {
    const out = new Float32Array(batch.rows * batch.seq);
    seqs.forEach((s, r) => {
      const start = s.promptIds.length;
      vals[r].forEach((v, t) => (out[r * batch.seq + start + t] = v));
    });
    return tensor('float32', out, [batch.rows, batch.seq]);
  };
}

/** A step's token mean of a metric over its micro-batches (each weighted by its token count). */
function tokenMeanOf(micro: { scalars: Record<string, number> }[]) {
  return (name: string): number => {
    let num = 0;
    let den = 0;
    for (const m of micro) {
      const n = m.scalars['count/tokens'];
      num += (m.scalars[name] ?? 0) * n;
      den += n;
    }
    return den > 0 ? num / den : 0;
  };
}

const mean1 = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

/** 1 − Var(y − ŷ) / Var(y) (population variances; 0 when y is constant): how much of the returns the critic explains. */
export function explainedVariance(y: number[], yHat: number[]): number {
  const variance = (xs: number[]) => {
    const m = mean1(xs);
    return mean1(xs.map((x) => (x - m) ** 2));
  };
  const vy = variance(y);
  return vy > 0 ? 1 - variance(y.map((v, i) => v - yHat[i])) / vy : 0;
}

function batchFeeds(batch: RightPaddedBatch): Record<string, Tensor> {
  return {
    input_ids: tensor('int64', batch.inputIds, [batch.rows, batch.seq]),
    attention_mask: tensor('int64', batch.attentionMask, [batch.rows, batch.seq]),
    response_mask: tensor('float32', batch.responseMask, [batch.rows, batch.seq]),
  };
}

const isReinforce = (a: RlAlgorithm) => a === 'reinforce_pp' || a === 'reinforce_pp_baseline';

/** Token mean of log π_old − log π_ref (the k1 estimate RLOO and REINFORCE++ fold into the reward). */
function meanKl(old: number[][], ref: number[][]): number {
  let s = 0;
  let n = 0;
  old.forEach((o, i) =>
    o.forEach((v, t) => {
      s += v - ref[i][t];
      n++;
    }),
  );
  return n ? s / n : 0;
}

/** A seeded generator for the RL stage's prompt draws (stream 3 of the seed: 1 LoRA init, 2 data order). */
export const rlPromptRng = (seed: number): Rng => new Rng(seed).fork(3);
