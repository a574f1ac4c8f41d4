// `pipeline train-rm`: a Bradley–Terry reward model from preference pairs (TRL RewardTrainer),
// written as a Hugging Face sequence-classification checkpoint. Option names and defaults are
// TRL's RewardConfig / TrainingArguments where TRL has them; the LoRA flags are `pipeline train`'s.
import { Option, type Command } from 'commander';
import {
  Engine,
  type Device,
  type RewardModelJob,
  type RewardModelOutcome,
  type StepMetrics,
} from '../../engine/index.js';
import type { CliContext } from '../context.js';
import { deviceOption, floatArg, intArg, threadsOption } from '../options.js';
import { readJsonl } from '../read-jsonl.js';
import { fmt, loraOptions } from './train.js';

interface TrainRmFlags {
  model: string;
  data: string;
  evalData?: string;
  out: string;
  full?: boolean;
  loraR: number;
  loraAlpha: number;
  loraTargets: string[];
  centerRewardsCoefficient?: number;
  learningRate: number;
  lrSchedule: 'constant' | 'linear' | 'cosine';
  warmupSteps: number;
  epochs: number;
  maxSteps?: number;
  batchSize: number;
  gradAccum: number;
  gradientCheckpointing?: boolean;
  maxLength: number;
  maxGradNorm: number;
  weightDecay: number;
  seed: number;
  device: Device;
  threads?: number;
  json?: boolean;
}

function dataOptions(cmd: Command): Command {
  return cmd
    .option(
      '--model <dir>',
      'base: a causal LM (Hugging Face folder or builtin:tiny; a new score head is drawn) or a reward model to train further',
      'builtin:tiny',
    )
    .requiredOption(
      '--data <file.jsonl>',
      'TRL preference rows {"prompt", "chosen", "rejected"} (prompt optional; an optional numeric "margin" asks r_chosen − r_rejected to exceed it)',
    )
    .option(
      '--eval-data <file.jsonl>',
      'held-out preference rows: scored with the saved checkpoint after training (eval_accuracy, eval_loss, …)',
    )
    .requiredOption(
      '--out <dir>',
      'where the reward model is written (Hugging Face …ForSequenceClassification checkpoint; LoRA also leaves <out>/adapter)',
    );
}

function trainingOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--center-rewards-coefficient <x>',
        'η: add η · mean((r_chosen + r_rejected)²) to the loss, pulling rewards towards mean zero (TRL recommends 0.01; default: off)',
      ).argParser(floatArg(0, 1e6)),
    )
    .addOption(
      new Option('--learning-rate <lr>', 'peak learning rate')
        .argParser(floatArg(0, 10, { minExclusive: true }))
        .default(1e-4),
    )
    .addOption(
      new Option('--lr-schedule <s>', 'learning-rate schedule after warmup')
        .choices(['constant', 'linear', 'cosine'])
        .default('linear'),
    )
    .addOption(
      new Option('--warmup-steps <n>', 'linear warmup steps').argParser(intArg(0)).default(0),
    )
    .addOption(new Option('--epochs <n>', 'passes over the data').argParser(intArg(1)).default(3))
    .addOption(
      new Option('--max-steps <n>', 'optimizer steps (overrides --epochs)').argParser(intArg(1)),
    )
    .addOption(
      new Option('--batch-size <n>', 'pairs per micro-batch').argParser(intArg(1, 4096)).default(8),
    )
    .addOption(
      new Option('--grad-accum <n>', 'micro-batches per optimizer step')
        .argParser(intArg(1, 4096))
        .default(1),
    )
    .addOption(
      new Option(
        '--gradient-checkpointing',
        'recompute each layer in the backward pass instead of storing its activations',
      ),
    )
    .addOption(
      new Option(
        '--max-length <n>',
        'tokens per sequence at most: a pair with a longer chosen or rejected sequence is dropped, as TRL does',
      )
        .argParser(intArg(2))
        .default(1024),
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
      new Option('--seed <s>', 'seed for the score head, LoRA init and data order')
        .argParser(intArg(0))
        .default(42),
    )
    .addOption(deviceOption())
    .addOption(threadsOption())
    .option('--json', 'print one JSON object per step, the eval metrics and the outcome on stdout');
}

function jobOf(f: TrainRmFlags): RewardModelJob {
  const rows = readJsonl(f.data);
  const evalRows = f.evalData ? readJsonl(f.evalData) : undefined;
  return {
    model: f.model,
    rows: rows.map((r) => r.value),
    labels: rows.map((r) => r.where),
    evalRows: evalRows?.map((r) => r.value),
    evalLabels: evalRows?.map((r) => r.where),
    out: f.out,
    full: !!f.full,
    lora: { r: f.loraR, alpha: f.loraAlpha, targets: f.loraTargets },
    maxLength: f.maxLength,
    centerRewardsCoefficient: f.centerRewardsCoefficient,
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
    maxSteps: f.maxSteps,
    batchSize: f.batchSize,
    gradAccum: f.gradAccum,
    gradientCheckpointing: !!f.gradientCheckpointing,
    seed: f.seed,
    threads: f.threads,
    device: f.device,
  };
}

const stepLine = (m: StepMetrics, total: number): string =>
  `step ${m.step}/${total}  loss ${fmt(m.loss)}  accuracy ${fmt(m.accuracy, 2)}  margin ${fmt(m.margin)}` +
  `  grad_norm ${fmt(m.grad_norm)}  lr ${fmt(m.learning_rate)}  ${m.tokens_per_s.toFixed(0)} tok/s\n`;

const evalLine = (m: Record<string, number>): string =>
  `held-out: accuracy ${fmt(m.eval_accuracy, 3)} on ${m.eval_pairs} pairs  loss ${fmt(m.eval_loss)}` +
  `  margin ${fmt(m.eval_margin)}  rewards ${fmt(m.eval_min_reward)} … ${fmt(m.eval_max_reward)}\n`;

async function runTrainRm(f: TrainRmFlags, ctx: CliContext): Promise<void> {
  const t0 = performance.now();
  const outcome: RewardModelOutcome = await Engine.trainRewardModel(jobOf(f), (e) => {
    if (e.type === 'log') ctx.err(`${e.message}\n`);
    else if (f.json) ctx.out(JSON.stringify(e.metrics) + '\n');
    else if (e.type === 'step') ctx.err(stepLine(e.metrics, e.totalSteps));
    else ctx.out(evalLine(e.metrics));
  });
  if (f.json) ctx.out(JSON.stringify({ outcome }) + '\n');
  ctx.err(
    `trained ${outcome.steps.length} steps in ${((performance.now() - t0) / 1000).toFixed(1)} s; ` +
      `reward model ${outcome.out}` +
      (outcome.adapterDir ? `; adapter ${outcome.adapterDir}` : '') +
      `; reloaded checkpoint matches the trained rewards to ${fmt(outcome.check.maxAbsDiff)}\n`,
  );
}

export function registerTrainRm(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('train-rm')
    .description(
      'train a Bradley–Terry reward model on preference pairs (TRL RewardTrainer; LoRA by default, or full fine-tuning) and write it as a Hugging Face sequence-classification checkpoint',
    );
  for (const add of [dataOptions, loraOptions, trainingOptions]) add(cmd);
  cmd.action((f: TrainRmFlags) => runTrainRm(f, ctx));
}
