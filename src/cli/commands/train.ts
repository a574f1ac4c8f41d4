import { InvalidArgumentError, Option, type Command } from 'commander';
import {
  DEFAULT_LORA_TARGETS,
  type Device,
  Engine,
  LINEAR_MODULES,
  LOSS_TYPES,
  type LossType,
  type StepMetrics,
  type TrainJob,
} from '../../engine/index.js';
import type { CliContext } from '../context.js';
import { deviceOption, floatArg, intArg, threadsOption } from '../options.js';
import { readJsonl } from '../read-jsonl.js';

interface TrainFlags {
  model: string;
  data: string;
  out: string;
  adapter?: string;
  refModel?: string;
  refAdapter?: string;
  loss: LossType[];
  lossWeights?: number[];
  beta: number;
  labelSmoothing: number;
  simpoGamma: number;
  desirableWeight: number;
  undesirableWeight: number;
  full?: boolean;
  loraR: number;
  loraAlpha: number;
  loraTargets: string[];
  learningRate: number;
  lrSchedule: 'constant' | 'linear' | 'cosine';
  warmupSteps: number;
  epochs: number;
  steps?: number;
  batchSize: number;
  gradAccum: number;
  gradientCheckpointing?: boolean;
  maxLength: number;
  maxGradNorm: number;
  weightDecay: number;
  seed: number;
  merge?: boolean;
  dumpGrads?: string;
  device: Device;
  threads?: number;
  json?: boolean;
}

export function listArg<T extends string>(allowed: readonly T[], what: string) {
  return (v: string): T[] => {
    const items = v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const bad = items.filter((s) => !allowed.includes(s as T));
    if (bad.length || !items.length)
      throw new InvalidArgumentError(
        `unknown ${what} '${bad.join(',') || v}'; choose from ${allowed.join(', ')}.`,
      );
    return items as T[];
  };
}

function numberList(v: string): number[] {
  const xs = v.split(',').map((s) => Number(s.trim()));
  if (xs.some((x) => !Number.isFinite(x) || x < 0))
    throw new InvalidArgumentError(`expected comma-separated non-negative numbers, got '${v}'.`);
  return xs;
}

export const fmt = (x: number | undefined, d = 4) =>
  x === undefined
    ? '-'
    : Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3)
      ? x.toExponential(2)
      : x.toFixed(d);

/** What to train and on what: the base model, the rows, where the result goes, and references. */
function dataOptions(cmd: Command): Command {
  return cmd
    .option('--model <dir>', 'base model: Hugging Face folder or builtin:tiny', 'builtin:tiny')
    .requiredOption(
      '--data <file.jsonl>',
      'TRL preference rows {"prompt", "chosen", "rejected"}; with --loss kto, {"prompt", "completion", "label"}; with --loss sft, {"prompt", "completion"} (supervised fine-tuning)',
    )
    .requiredOption('--out <dir>', 'where the adapter (or full checkpoint with --full) is written')
    .option('--adapter <dir>', 'continue training this PEFT LoRA adapter')
    .option(
      '--ref-model <dir>',
      'reference model (default: the base model without adapter, as TRL does with PEFT)',
    )
    .option('--ref-adapter <dir>', 'apply this adapter to the reference model');
}

/** Which losses, their weights and their parameters (β, ε, γ, the KTO label weights). */
function lossOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--loss <types>',
        `loss type(s), comma-separated: ${LOSS_TYPES.join(', ')} (kto alone, on unpaired rows; sft alone on prompt-completion rows is supervised fine-tuning, TRL SFTTrainer)`,
      )
        .argParser(listArg(LOSS_TYPES, 'loss'))
        .default(['sigmoid'], 'sigmoid'),
    )
    .addOption(
      new Option(
        '--loss-weights <w>',
        'weights of the losses, comma-separated (default: 1 each)',
      ).argParser(numberList),
    )
    .addOption(
      new Option('--beta <b>', 'β: strength of the KL penalty / reward scale')
        .argParser(floatArg(0, 1e6, { minExclusive: true }))
        .default(0.1),
    )
    .addOption(
      new Option(
        '--label-smoothing <eps>',
        'ε: label smoothing (cDPO with sigmoid, noise rate with robust)',
      )
        .argParser(floatArg(0, 0.5))
        .default(0),
    )
    .addOption(
      new Option('--simpo-gamma <g>', 'γ: SimPO target reward margin')
        .argParser(floatArg(0, 1e6))
        .default(0.5),
    )
    .addOption(
      new Option('--desirable-weight <w>', "KTO: λ_D, weight of the desirable rows' losses")
        .argParser(floatArg(0, 1e6))
        .default(1),
    )
    .addOption(
      new Option('--undesirable-weight <w>', "KTO: λ_U, weight of the undesirable rows' losses")
        .argParser(floatArg(0, 1e6))
        .default(1),
    );
}

/** LoRA (the default) or full fine-tuning, and the LoRA shape. */
export function loraOptions(cmd: Command): Command {
  return cmd
    .option('--full', 'full fine-tuning of every weight instead of LoRA')
    .addOption(new Option('--lora-r <r>', 'LoRA rank').argParser(intArg(1, 4096)).default(16))
    .addOption(
      new Option('--lora-alpha <a>', 'LoRA alpha (scale = alpha / r)')
        .argParser(floatArg(0, 1e6, { minExclusive: true }))
        .default(32),
    )
    .addOption(
      new Option('--lora-targets <modules>', 'Linear modules to adapt, comma-separated')
        .argParser(listArg(LINEAR_MODULES, 'LoRA target'))
        .default(DEFAULT_LORA_TARGETS, DEFAULT_LORA_TARGETS.join(',')),
    );
}

/** Optimizer, schedule, batching and the seed. */
function scheduleOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--learning-rate <lr>', 'peak learning rate')
        .argParser(floatArg(0, 10, { minExclusive: true }))
        .default(5e-6),
    )
    .addOption(
      new Option('--lr-schedule <s>', 'learning-rate schedule after warmup')
        .choices(['constant', 'linear', 'cosine'])
        .default('linear'),
    )
    .addOption(
      new Option('--warmup-steps <n>', 'linear warmup steps').argParser(intArg(0)).default(0),
    )
    .addOption(new Option('--epochs <n>', 'passes over the data').argParser(intArg(1)).default(1))
    .addOption(
      new Option('--steps <n>', 'optimizer steps (overrides --epochs)').argParser(intArg(1)),
    )
    .addOption(
      new Option('--batch-size <n>', 'pairs (or rows) per micro-batch')
        .argParser(intArg(1, 4096))
        .default(4),
    )
    .addOption(
      new Option('--grad-accum <n>', 'micro-batches per optimizer step')
        .argParser(intArg(1, 4096))
        .default(1),
    )
    .addOption(
      new Option(
        '--gradient-checkpointing',
        'recompute each layer in the backward pass instead of storing its activations (about half the memory of a full fine-tune, one more forward pass of time)',
      ),
    )
    .addOption(
      new Option(
        '--max-length <n>',
        'prompt + response tokens at most (prompt start is cut first; sft keeps the first n tokens, as TRL does)',
      )
        .argParser(intArg(2))
        .default(512),
    )
    .addOption(
      new Option('--max-grad-norm <x>', 'clip the global gradient norm (0 = off)')
        .argParser(floatArg(0, 1e9))
        .default(1),
    )
    .addOption(
      new Option('--weight-decay <x>', 'AdamW decoupled weight decay')
        .argParser(floatArg(0, 1))
        .default(0),
    )
    .addOption(
      new Option('--seed <s>', 'seed for LoRA init and data order').argParser(intArg(0)).default(0),
    );
}

/** Extra outputs, where it runs, and how progress is printed. */
function outputOptions(cmd: Command): Command {
  return cmd
    .option('--merge', 'also write the merged full checkpoint to <out>/merged')
    .option(
      '--dump-grads <file>',
      'write d loss / d weight of the first batch (before any update) as safetensors',
    )
    .addOption(deviceOption())
    .addOption(threadsOption())
    .option('--json', 'print one JSON metrics object per step on stdout');
}

/** The engine's training job for the parsed flags and the rows of --data. */
function trainJobOf(f: TrainFlags, rows: { value: unknown; where: string }[]): TrainJob {
  return {
    model: f.model,
    adapter: f.adapter,
    refModel: f.refModel,
    refAdapter: f.refAdapter,
    rows: rows.map((r) => r.value),
    labels: rows.map((r) => r.where),
    out: f.out,
    full: !!f.full,
    lora: { r: f.loraR, alpha: f.loraAlpha, targets: f.loraTargets },
    losses: f.loss,
    lossWeights: f.lossWeights ?? f.loss.map(() => 1),
    lossOptions: {
      beta: f.beta,
      labelSmoothing: f.labelSmoothing,
      simpoGamma: f.simpoGamma,
      desirableWeight: f.desirableWeight,
      undesirableWeight: f.undesirableWeight,
    },
    optimizer: {
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: f.weightDecay,
      maxGradNorm: f.maxGradNorm,
    },
    learningRate: f.learningRate,
    lrSchedule: f.lrSchedule,
    warmupSteps: f.warmupSteps,
    epochs: f.epochs,
    maxSteps: f.steps,
    batchSize: f.batchSize,
    gradAccum: f.gradAccum,
    gradientCheckpointing: !!f.gradientCheckpointing,
    maxLength: f.maxLength,
    seed: f.seed,
    merge: !!f.merge,
    dumpGrads: f.dumpGrads,
    threads: f.threads,
    device: f.device,
  };
}

/** Run the job; log lines and progress go to stderr, `--json` metrics to stdout. */
async function runTrain(f: TrainFlags, ctx: CliContext): Promise<void> {
  const rows = readJsonl(f.data);
  const t0 = performance.now();
  const outcome = await Engine.train(trainJobOf(f, rows), (e) => {
    if (e.type === 'log') ctx.err(`${e.message}\n`);
    else if (f.json) ctx.out(JSON.stringify(e.metrics) + '\n');
    else ctx.err(progressLine(e.metrics, e.totalSteps));
  });
  const where =
    outcome.kind === 'lora'
      ? `adapter ${outcome.adapterDir}`
      : `checkpoint ${outcome.checkpointDir}`;
  ctx.err(
    `trained ${outcome.steps.length} steps in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${where}` +
      (outcome.mergedDir ? `; merged checkpoint ${outcome.mergedDir}` : '') +
      '\n',
  );
}

export function registerTrain(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('train')
    .description(
      'train a model on preference pairs with a DPO-family loss, on unpaired rows with KTO, or on prompt-completion rows with SFT (LoRA by default, or full fine-tuning)',
    );
  for (const add of [dataOptions, lossOptions, loraOptions, scheduleOptions, outputOptions])
    add(cmd);
  cmd.action((f: TrainFlags) => runTrain(f, ctx));
}

function progressLine(m: StepMetrics, total: number): string {
  // SFT has no rewards: its middle is the completion tokens the step learned from.
  const middle =
    'completion_tokens' in m
      ? `completion tokens ${m.completion_tokens}`
      : `margin ${fmt(m['rewards/margins'])}  ${thirdColumn(m)}`;
  return (
    `step ${m.step}/${total}  loss ${fmt(m.loss)}  ${middle}` +
    `  grad_norm ${fmt(m.grad_norm)}  lr ${fmt(m.learning_rate)}  ${m.tokens_per_s.toFixed(0)} tok/s\n`
  );
}

function thirdColumn(m: StepMetrics): string {
  return 'rewards/accuracies' in m ? `acc ${fmt(m['rewards/accuracies'], 2)}` : `kl ${fmt(m.kl)}`;
}
