// The three ways a training job gets ready to step: SFT on prompt-completion rows, KTO on unpaired
// rows, or the DPO family on pairs. Each tokenizes its rows, scores the reference log-probs it needs, opens the trainer, and
// hands back the same PreparedRun, so saving and the step loop (run-training.ts) are shared.

import { fail } from '../../core/errors.js';
import type { LoadedModel } from '../model/load-model.js';
import type { LoraAdapter } from '../model/peft-adapter.js';
import { lossNeedsReference } from './losses/index.js';
import { KtoTrainer, planKtoSteps, tokenizeKtoRows } from './kto-trainer.js';
import { tokenizePairs } from './pair-batches.js';
import { SftTrainer, tokenizeSftRows } from './sft-trainer.js';
import type { TrainerOptions } from './trainer-options.js';
import { DpoTrainer, type StepMetrics } from './trainer.js';

/** What the SFT, DPO and KTO paths share after their data and reference log-probs are ready. */
export interface PreparedRun {
  trainer: {
    readonly params: Map<string, Float32Array>;
    readonly graph: { params: { name: string; dims: number[] }[] };
    close(): Promise<void>;
  };
  policyBase: LoadedModel;
  totalSteps: number;
  /** d loss / d param of the first micro-batch, before any update (`--dump-grads`). */
  firstGrads(): Promise<Map<string, Float32Array>>;
  train(onStep: (m: StepMetrics) => void): Promise<StepMetrics[]>;
}

/** The parts of a training job (run-training.ts's TrainJob) that preparing it reads. */
export interface PrepareJob {
  rows: unknown[];
  labels: string[];
  losses: TrainerOptions['losses'];
  lossOptions: TrainerOptions['lossOptions'];
  batchSize: number;
  maxLength: number;
  full: boolean;
  threads?: number;
  device?: TrainerOptions['device'];
}

/** The job with its models opened (lazily for the reference and the policy's base). */
export interface RunSetup {
  job: PrepareJob;
  base: LoadedModel;
  /** The adapter a LoRA run continues. */
  init: LoraAdapter | undefined;
  options: TrainerOptions;
  openRef(): LoadedModel;
  policyBase(): LoadedModel;
  log(message: string): void;
}

const seconds = (t0: number): string => ((performance.now() - t0) / 1000).toFixed(1);

/** KTO: unpaired rows; KL sequences depend on batch composition, so the batches are fixed first. */
export async function prepareKto(s: RunSetup): Promise<PreparedRun> {
  const { job, base } = s;
  const rows = tokenizeKtoRows(base.tokenizer, job.rows, job.labels);
  const desirable = rows.filter((r) => r.desirable).length;
  s.log(
    `${rows.length} KTO rows (${desirable} desirable, ${rows.length - desirable} undesirable), ${base.config.architecture} from ${base.dir}`,
  );
  // TRL's KTOTrainer warns outside this range (KTO paper, section 4.2).
  const ratio =
    (job.lossOptions.desirableWeight * desirable) /
    (job.lossOptions.undesirableWeight * (rows.length - desirable));
  if (!(ratio >= 1 && ratio <= 4 / 3))
    s.log(
      `note: desirable_weight·#desirable / (undesirable_weight·#undesirable) = ${ratio.toFixed(2)}; the KTO paper recommends 1 to 4/3`,
    );
  const opts = { ...s.options, maxLength: job.maxLength };
  // KL sequences depend on batch composition: fix the batches, then score exactly those.
  const plan = planKtoSteps(rows.length, opts);
  const t0 = performance.now();
  const refs = await KtoTrainer.referenceLogps(s.openRef(), rows, plan, {
    padId: base.tokenizer.batchPadId,
    maxLength: job.maxLength,
    threads: job.threads,
    device: job.device,
    batchSize: Math.max(1, job.batchSize * 2),
  });
  s.log(`reference log-probs of ${refs.kl.size} sequences in ${seconds(t0)} s`);
  const policy = s.policyBase();
  const trainer = await KtoTrainer.create(policy, opts, job.full ? undefined : s.init);
  return {
    trainer,
    policyBase: policy,
    totalSteps: plan.length,
    firstGrads: async () => (await trainer.gradients(rows, refs, plan[0].micro[0])).grads,
    train: (onStep) => trainer.train(rows, refs, onStep),
  };
}

/** The DPO family: pairs, with reference log-probs only for the losses that need them. */
export async function preparePairs(s: RunSetup): Promise<PreparedRun> {
  const { job, base } = s;
  job.rows.forEach((v, i) => {
    if (v && typeof v === 'object' && 'label' in v && 'completion' in v && !('chosen' in v))
      fail(
        'E_DATA_ROW',
        `${job.labels[i] ?? `row ${i + 1}`}: an unpaired KTO row (prompt, completion, label), but loss ${job.losses.join(', ')} needs pairs`,
        'train unpaired rows with --loss kto, or give {"prompt", "chosen", "rejected"} rows',
      );
  });
  const pairs = tokenizePairs(base.tokenizer, job.rows, job.labels, job.maxLength);
  s.log(`${pairs.length} pairs, ${base.config.architecture} from ${base.dir}`);

  let refs: { chosen: number; rejected: number }[] | undefined;
  if (lossNeedsReference(job.losses)) {
    const t0 = performance.now();
    refs = await DpoTrainer.referenceLogps(s.openRef(), pairs, {
      padId: base.tokenizer.batchPadId,
      threads: job.threads,
      device: job.device,
      batchSize: Math.max(1, job.batchSize * 2),
    });
    s.log(`reference log-probs of ${pairs.length} pairs in ${seconds(t0)} s`);
  }
  const policy = s.policyBase();
  const trainer = await DpoTrainer.create(policy, s.options, job.full ? undefined : s.init);
  return {
    trainer,
    policyBase: policy,
    totalSteps: trainer.totalSteps(pairs.length),
    firstGrads: async () => {
      const first = pairs.slice(0, job.batchSize);
      return (await trainer.gradients(first, refs?.slice(0, first.length))).grads;
    },
    train: (onStep) => trainer.train(pairs, refs, onStep),
  };
}

/** SFT: prompt-completion rows, no reference model, one sequence per row. */
export async function prepareSft(s: RunSetup): Promise<PreparedRun> {
  const { job, base } = s;
  const { rows, dropped } = tokenizeSftRows(base.tokenizer, job.rows, job.labels, job.maxLength);
  const tokens = rows.reduce((a, r) => a + r.responseIds.length, 0);
  s.log(
    `${rows.length} SFT rows (${tokens} completion tokens), ${base.config.architecture} from ${base.dir}`,
  );
  if (dropped.length)
    s.log(
      `note: ${dropped.length} rows dropped, their prompt fills max_length ${job.maxLength} (first: ${dropped[0]})`,
    );
  const policy = s.policyBase();
  const trainer = await SftTrainer.create(policy, s.options, job.full ? undefined : s.init);
  return {
    trainer,
    policyBase: policy,
    totalSteps: trainer.totalSteps(rows.length),
    firstGrads: async () => (await trainer.gradients(rows.slice(0, job.batchSize))).grads,
    train: (onStep) => trainer.train(rows, onStep),
  };
}
