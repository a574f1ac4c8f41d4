import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fail, PipelineError } from '../../core/errors.js';
import type { StepMetrics, TrainEvent, TrainJob, TrainOutcome } from '../../engine/index.js';
import type { TrlSpec } from '../../spec/schema.js';
import { checkTrlJob, trlConfig } from './trl-config.js';
import { trlJsonl, writeAtomic } from './trl-data.js';
import { checkTrlPython, lastLines, resolveCommand } from './trl-python.js';

/** The training script shipped with the package (dist/src/stages/train-trl -> the repo root). */
export const TRL_SCRIPT = fileURLToPath(
  new URL('../../../../scripts/trl/train_dpo.py', import.meta.url),
);

/** Lines of the launcher's stderr an error shows. */
const TAIL_LINES = 20;

/** Where a TRL launch runs and how. */
export interface TrlRun {
  trl: TrlSpec;
  /** The pipeline file's folder: relative paths and the launcher's working directory. */
  baseDir: string;
  /** The round's TRL folder (config, rows, TRL's output_dir, the launcher's log). */
  dir: string;
  /** PEFT lora_dropout for a new adapter. */
  loraDropout?: number;
}

/**
 * A metrics line of the script as the engine's StepMetrics. TRL logs under the names the
 * in-process trainer uses (loss, grad_norm, learning_rate, epoch, rewards/chosen,
 * rewards/rejected, rewards/margins, rewards/accuracies, logps/chosen, logps/rejected, and
 * more); the script adds step and tokens_per_s. total_steps is the run's length, not a metric.
 */
export function stepMetricsOf(raw: Record<string, unknown>): {
  metrics: StepMetrics;
  totalSteps: number;
} {
  const m: Record<string, number> = {};
  for (const [k, v] of Object.entries(raw)) if (typeof v === 'number') m[k] = v;
  const totalSteps = m.total_steps ?? m.step;
  delete m.total_steps;
  const metrics = {
    ...m,
    step: m.step ?? 0,
    epoch: m.epoch ?? 0,
    loss: m.loss ?? NaN,
    grad_norm: m.grad_norm ?? NaN,
    learning_rate: m.learning_rate ?? NaN,
    tokens_per_s: m.tokens_per_s ?? 0,
  };
  return { metrics, totalSteps };
}

/** Reads the lines appended to a file since the last call (the script's metrics file). */
class LineTail {
  private offset = 0;
  private rest = '';
  constructor(private readonly file: string) {}

  read(): string[] {
    if (!existsSync(this.file)) return [];
    const size = statSync(this.file).size;
    if (size <= this.offset) return [];
    const buf = Buffer.alloc(size - this.offset);
    const fd = openSync(this.file, 'r');
    try {
      readSync(fd, buf, 0, buf.length, this.offset);
    } finally {
      closeSync(fd);
    }
    this.offset = size;
    const lines = (this.rest + buf.toString('utf8')).split('\n');
    this.rest = lines.pop() ?? '';
    return lines.filter((l) => l.trim());
  }
}

/**
 * Train one round with TRL: check the Python, write the rows and the config (atomically, into a
 * folder cleared first, so a killed stage re-runs the same), run the script through the
 * launcher, stream each logged step to `emit` while it runs, and return what it saved in
 * `job.out`, the layout the in-process trainer writes.
 */
export async function trainWithTrl(
  job: TrainJob,
  run: TrlRun,
  emit: (e: TrainEvent) => void = () => {},
): Promise<TrainOutcome> {
  checkTrlJob(job);
  checkTrlPython(run.trl.python, run.baseDir);
  rmSync(run.dir, { recursive: true, force: true });
  mkdirSync(run.dir, { recursive: true });
  rmSync(job.out, { recursive: true, force: true });
  mkdirSync(job.out, { recursive: true });
  const files = {
    trainFile: join(run.dir, 'train.jsonl'),
    metricsFile: join(job.out, 'train_metrics.jsonl'),
    workDir: join(run.dir, 'trainer'),
  };
  writeAtomic(files.trainFile, trlJsonl(job.rows));
  const config = trlConfig(job, run.trl, files, run.loraDropout);
  const configFile = join(run.dir, 'config.json');
  writeAtomic(configFile, JSON.stringify(config, null, 2) + '\n');

  const python = resolveCommand(run.trl.python, run.baseDir);
  const argv = run.trl.launch
    ? [resolveCommand(run.trl.launch[0], run.baseDir), ...run.trl.launch.slice(1)]
    : [python];
  argv.push(TRL_SCRIPT, configFile);
  const steps: StepMetrics[] = [];
  const tail = new LineTail(files.metricsFile);
  const drain = () => {
    for (const line of tail.read()) {
      let raw: Record<string, unknown>;
      try {
        raw = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue; // not a metrics line: the file is the script's alone, so nothing to lose
      }
      const { metrics, totalSteps } = stepMetricsOf(raw);
      steps.push(metrics);
      emit({ type: 'step', metrics, totalSteps });
    }
  };
  emit({ type: 'log', message: `TRL: ${argv.join(' ')}` });
  const { code, signal, stderr } = await launch(argv, run, join(run.dir, 'train.log'), drain);
  drain();
  if (code !== 0)
    fail(
      'E_TRL_FAILED',
      `TRL training failed (${signal ? `killed by ${signal}` : `exit ${code}`}): ${argv.join(' ')}\n` +
        (lastLines(stderr, TAIL_LINES) || '(no output on stderr)'),
      `the whole log is in ${join(run.dir, 'train.log')}; fix the cause and resume the run (\`pipeline run\` again): the stage retrains from scratch`,
    );
  const weights = join(job.out, job.full ? 'model.safetensors' : 'adapter_model.safetensors');
  if (!existsSync(weights))
    fail(
      'E_TRL_OUTPUT',
      `TRL finished but wrote no ${weights}`,
      `check ${join(run.dir, 'train.log')}; a sharded full checkpoint is not adopted yet`,
    );
  return {
    out: job.out,
    kind: job.full ? 'full' : 'lora',
    steps,
    ...(job.full ? { checkpointDir: job.out } : { adapterDir: job.out }),
    ...(job.merge && !job.full ? { mergedDir: join(job.out, 'merged') } : {}),
  };
}

/**
 * Run the launcher with its output going to `logFile` (and stderr also kept for the error),
 * calling `poll` every quarter second while it runs. The child is killed if this process exits.
 */
function launch(
  argv: string[],
  run: TrlRun,
  logFile: string,
  poll: () => void,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const log = openSync(logFile, 'w');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PYTHONUNBUFFERED: '1',
    // the script exits if this process dies without stopping it (SIGKILL): no orphan trains on
    RLAIF_RUN_PID: String(process.pid),
    RLAIF_RUN_HOST: hostname(),
    TQDM_DISABLE: process.env.TQDM_DISABLE ?? '1',
    HF_DATASETS_DISABLE_PROGRESS_BARS: process.env.HF_DATASETS_DISABLE_PROGRESS_BARS ?? '1',
  };
  return new Promise((resolvePromise, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      cwd: run.baseDir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const killChild = () => child.kill('SIGTERM');
    process.once('exit', killChild);
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => writeSync(log, d));
    child.stderr.on('data', (d: Buffer) => {
      writeSync(log, d);
      stderr = (stderr + d.toString('utf8')).slice(-64 * 1024);
    });
    const timer = setInterval(poll, 250);
    let finished = false;
    const done = () => {
      if (finished) return false;
      finished = true;
      clearInterval(timer);
      process.removeListener('exit', killChild);
      closeSync(log);
      return true;
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (!done()) return;
      reject(
        new PipelineError({
          code: 'E_TRL_LAUNCH',
          message: `cannot start the TRL launcher ${argv[0]}: ${e.code ?? e.message}`,
          hint: 'check trl.launch (a command on PATH, or a path relative to the pipeline file) and trl.python',
        }),
      );
    });
    child.on('close', (code, signal) => {
      if (done()) resolvePromise({ code, signal, stderr });
    });
  });
}
