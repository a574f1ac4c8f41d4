// `npm run build:sandbox-model`: trains the sandbox chat model (builtin:sandbox) with this
// project's own engine, from the random-weight builtin:tiny checkpoint, by SFT on the sandbox
// world's instruction and evaluation data (data.ts), then writes it, its training curve, its
// recipe and a held-out check (check.ts) to assets/sandbox-model/. Deterministic: the same recipe
// (seed, sizes, thread count) gives the same weights hash, printed at the end.
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine, type StepMetrics } from '../engine/index.js';
import { loadRubric } from '../prompts/rubric.js';
import { checkModel } from './check.js';
import { sandboxRows, type DataRecipe } from './data.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Bump with any change below: it is written into the model's config as rlaif_builtin. */
export const SANDBOX_RECIPE_VERSION = 1;

export const RECIPE = {
  data: { seed: 20261203, ift: 12000, eft: 12000, bestShare: 0.4 } satisfies DataRecipe,
  train: {
    learningRate: 2e-3,
    warmupSteps: 100,
    steps: 1500,
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

async function main(): Promise<void> {
  const out = process.argv[2] ?? join(ROOT, 'assets', 'sandbox-model');
  const steps = Number(process.env.SANDBOX_STEPS ?? RECIPE.train.steps);
  const rubricPath = join(ROOT, 'rubrics', 'sandbox-5pt.hbs');
  const rubric = loadRubric(rubricPath);
  const rows = sandboxRows(RECIPE.data, rubric);
  const dataHash = createHash('sha256').update(JSON.stringify(rows)).digest('hex');
  console.log(`sandbox data: ${rows.length} rows (sha256 ${dataHash.slice(0, 16)})`);
  const work = mkdtempSync(join(tmpdir(), 'sandbox-build-'));
  const curve: { step: number; loss: number; lr: number }[] = [];
  const t0 = performance.now();
  try {
    const outcome = await Engine.train(
      {
        model: 'builtin:tiny',
        rows,
        labels: rows.map((_, i) => `sandbox-data:${i + 1}`),
        out: work,
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
        curve.push({ step: m.step, loss: m.loss, lr: m.learning_rate });
        if (m.step % 50 === 0 || m.step === e.totalSteps)
          console.log(
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
    const check = await checkModel(out, rubric, RECIPE.data.seed);
    const seconds = (performance.now() - t0) / 1000;
    writeFileSync(join(out, 'training-curve.json'), JSON.stringify(curve) + '\n');
    writeFileSync(
      join(out, 'recipe.json'),
      JSON.stringify(
        { recipe: RECIPE, steps, rows: rows.length, dataHash, weights, check, seconds },
        null,
        2,
      ) + '\n',
    );
    console.log(`held-out check: ${JSON.stringify(check)}`);
    console.log(`weights sha256 ${weights}  (${seconds.toFixed(0)} s)  -> ${out}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
