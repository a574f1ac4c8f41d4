// `npm run build:sandbox-model`: trains the sandbox chat model (builtin:sandbox) with this
// project's own engine, from the random-weight builtin:tiny checkpoint, by SFT on the sandbox
// world's instruction and evaluation data (data.ts), then writes it, its training curve (the trainer's train_metrics.jsonl), its
// recipe and a held-out check (check.ts) to assets/sandbox-model/. Deterministic: the same recipe
// (seed, sizes, thread count) gives the same weights hash, printed at the end.
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine, writeRandomLlama, type StepMetrics } from '../engine/index.js';
import { loadRubric } from '../prompts/rubric.js';
import { checkModel, type ModelCheck } from './check.js';
import { sandboxRows, type DataRecipe } from './data.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Bump with any change below: it is written into the model's config as rlaif_builtin. */
export const SANDBOX_RECIPE_VERSION = 2;

export const RECIPE = {
  // Smaller than builtin:tiny (1.4M vs 3.1M parameters) and deeper: the tasks are short
  // algorithmic ones, and training time on a 2-core CPU is the budget.
  shape: { H: 128, I: 384, L: 6, NH: 4, KV: 2, D: 32 },
  initSeed: 20261204,
  data: {
    ...{ seed: 20261203, ift: 12000, eft: 18000 },
    ...{ bestShare: 0.3, chattyShare: 0.35 },
  } satisfies DataRecipe,
  train: {
    learningRate: 2e-3,
    warmupSteps: 100,
    steps: 1800,
    batchSize: 32,
    maxLength: 256,
    seed: 7,
    // onnxruntime's CPU reductions are deterministic for a fixed thread count; pin it so a
    // rebuild on a bigger machine gives the same weights.
    threads: 2,
  },
};

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

export interface BuildOptions {
  out: string;
  /** Optimizer steps (default: the recipe's). */
  steps?: number;
  /** Override the data sizes (tests build a small model quickly). */
  data?: Partial<DataRecipe>;
  /** Run the held-out check (check.ts) and store it in recipe.json (default true). */
  check?: boolean;
  log?: (line: string) => void;
}

export interface BuildResult {
  weights: string;
  dataHash: string;
  check?: ModelCheck;
  seconds: number;
}

/** Builds the sandbox model into `out` (replacing it); returns its weights hash. */
export async function buildSandboxModel(o: BuildOptions): Promise<BuildResult> {
  const log = o.log ?? ((l: string) => console.log(l));
  const out = o.out;
  const steps = o.steps ?? RECIPE.train.steps;
  const data = { ...RECIPE.data, ...o.data };
  const rubricPath = join(ROOT, 'rubrics', 'sandbox-5pt.hbs');
  const rubric = loadRubric(rubricPath);
  const rows = sandboxRows(data, rubric);
  const dataHash = createHash('sha256').update(JSON.stringify(rows)).digest('hex');
  log(`sandbox data: ${rows.length} rows (sha256 ${dataHash.slice(0, 16)})`);
  const work = mkdtempSync(join(tmpdir(), 'sandbox-build-'));
  const t0 = performance.now();
  try {
    const init = join(work, 'init');
    mkdirSync(init);
    writeRandomLlama(init, RECIPE.shape, RECIPE.initSeed, 'sandbox-init');
    const outcome = await Engine.train(
      {
        model: init,
        rows,
        labels: rows.map((_, i) => `sandbox-data:${i + 1}`),
        out: join(work, 'trained'),
        full: true,
        lora: { r: 8, alpha: 16, targets: [] },
        merge: false,
        losses: ['sft'],
        lossWeights: [1],
        lossOptions: {
          ...{ beta: 0.1, labelSmoothing: 0, simpoGamma: 0.5 },
          ...{ desirableWeight: 1, undesirableWeight: 1 },
        },
        optimizer: { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.01, maxGradNorm: 1 },
        learningRate: RECIPE.train.learningRate,
        lrSchedule: 'cosine',
        warmupSteps: RECIPE.train.warmupSteps,
        epochs: 1,
        maxSteps: steps,
        batchSize: RECIPE.train.batchSize,
        gradAccum: 1,
        maxLength: RECIPE.train.maxLength,
        seed: RECIPE.train.seed,
        threads: RECIPE.train.threads,
      },
      (e) => {
        if (e.type !== 'step') return;
        const m: StepMetrics = e.metrics;
        if (m.step % 50 === 0 || m.step === e.totalSteps)
          log(
            `step ${m.step}/${e.totalSteps}  loss ${m.loss.toFixed(4)}  ` +
              `${((performance.now() - t0) / 1000).toFixed(0)} s`,
          );
      },
    );
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    cpSync(outcome.checkpointDir!, out, { recursive: true });
    const configPath = join(out, 'config.json');
    const config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    config.rlaif_builtin = `sandbox-v${SANDBOX_RECIPE_VERSION}`;
    writeFileSync(configPath, JSON.stringify(config, null, 2) + '\n');
    const weights = sha256(join(out, 'model.safetensors'));
    const check = o.check === false ? undefined : await checkModel(out, rubric, data.seed);
    const seconds = (performance.now() - t0) / 1000;
    writeFileSync(
      join(out, 'recipe.json'),
      JSON.stringify(
        {
          recipe: { ...RECIPE, data },
          steps,
          rows: rows.length,
          dataHash,
          weights,
          check,
          seconds,
        },
        null,
        2,
      ) + '\n',
    );
    if (check) log(`held-out check: ${JSON.stringify(check)}`);
    log(`weights sha256 ${weights}  (${seconds.toFixed(0)} s)  -> ${out}`);
    return { weights, dataHash, check, seconds };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
