// SFT (TRL SFTTrainer, prompt-completion rows, completion_only_loss): the loss and gradients of the
// step graph against PyTorch on hf-tiny (test/fixtures/sft-parity.json, from
// scripts/make-sft-parity.py), full and LoRA; the step's token-weighted gradient accumulation; and
// learning from scratch-sized data on builtin:tiny through `pipeline train --loss sft --full`,
// proven by greedy generation reproducing a memorized completion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../../src/engine/model/load-model.js';
import { loadLoraAdapter } from '../../src/engine/model/peft-adapter.js';
import { trainSft } from '../../src/engine/index.js';
import { DEFAULT_LORA_TARGETS } from '../../src/engine/train/lora.js';
import { trainingKind } from '../../src/engine/train/run-training.js';
import { SftTrainer, tokenizeSftRows } from '../../src/engine/train/sft-trainer.js';
import type { TrainerOptions } from '../../src/engine/train/trainer-options.js';
import { runCli } from '../helpers/cli.js';
import { fixture } from '../helpers/fixtures.js';
import { repoRoot } from '../helpers/paths.js';
import { compareGrad, type GradSummary } from '../helpers/grad-summary.js';

interface Parity {
  rows: unknown[];
  prompt_ids: number[][];
  completion_ids: number[][];
  full: { loss: number; grads: Record<string, GradSummary> };
  lora: { r: number; alpha: number; loss: number; grads: Record<string, GradSummary> };
}

const parity = JSON.parse(
  readFileSync(join(repoRoot, 'test', 'fixtures', 'sft-parity.json'), 'utf8'),
) as Parity;

function options(mode: TrainerOptions['mode'], over: Partial<TrainerOptions> = {}): TrainerOptions {
  return {
    mode,
    losses: ['sft'],
    lossWeights: [1],
    lossOptions: {
      beta: 0.1,
      labelSmoothing: 0,
      simpoGamma: 0.5,
      desirableWeight: 1,
      undesirableWeight: 1,
    },
    optimizer: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 0 },
    learningRate: 1e-3,
    lrSchedule: 'constant',
    warmupSteps: 0,
    epochs: 1,
    batchSize: 3,
    gradAccum: 1,
    seed: 0,
    ...over,
  };
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

async function parityRun(
  t: import('node:test').TestContext,
  lora: boolean,
): Promise<{ loss: number; grads: Map<string, Float32Array> } | undefined> {
  const root = fixture(t, 'hf-tiny');
  if (!root) return undefined;
  const base = loadModel(join(root, 'tiny-llama'));
  const { rows, dropped } = tokenizeSftRows(
    base.tokenizer,
    parity.rows,
    parity.rows.map((_, i) => `row ${i + 1}`),
  );
  assert.deepEqual(dropped, []);
  // Same token ids as transformers' tokenizer and chat template, so what follows compares math.
  assert.deepEqual(
    rows.map((r) => r.promptIds),
    parity.prompt_ids,
  );
  assert.deepEqual(
    rows.map((r) => r.responseIds),
    parity.completion_ids,
  );
  const adapter = lora
    ? loadLoraAdapter(join(root, 'dpo', 'tiny-llama', 'lora-adapter'))
    : undefined;
  const mode: TrainerOptions['mode'] = lora
    ? {
        kind: 'lora',
        lora: { r: parity.lora.r, alpha: parity.lora.alpha, targets: DEFAULT_LORA_TARGETS },
      }
    : { kind: 'full' };
  const trainer = await SftTrainer.create(base, options(mode), adapter);
  try {
    return await trainer.gradients(rows);
  } finally {
    await trainer.close();
    base.close();
  }
}

test('full fine-tune: SFT loss and gradients match PyTorch (float64) to 2e-5', async (t) => {
  const r = await parityRun(t, false);
  if (!r) return;
  assert.ok(rel(r.loss, parity.full.loss) < 1e-5, `loss ${r.loss} vs ${parity.full.loss}`);
  for (const [name, ref] of Object.entries(parity.full.grads))
    compareGrad(name, r.grads.get(name), ref, 2e-5);
});

test('LoRA: SFT loss and lora_A/lora_B gradients match PyTorch (float64) to 2e-5', async (t) => {
  const r = await parityRun(t, true);
  if (!r) return;
  assert.ok(rel(r.loss, parity.lora.loss) < 1e-5, `loss ${r.loss} vs ${parity.lora.loss}`);
  for (const [name, ref] of Object.entries(parity.lora.grads))
    compareGrad(name, r.grads.get(name), ref, 2e-5);
});

test('gradient accumulation weighs micro-batches by completion tokens: one batch of 3 = 2 + 1', async (t) => {
  const root = fixture(t, 'hf-tiny');
  if (!root) return;
  const base = loadModel(join(root, 'tiny-llama'));
  const { rows } = tokenizeSftRows(base.tokenizer, parity.rows, []);
  const stepOf = async (over: Partial<TrainerOptions>) => {
    const trainer = await SftTrainer.create(base, options({ kind: 'full' }, over));
    try {
      const [m] = await trainer.train(rows);
      return m;
    } finally {
      await trainer.close();
    }
  };
  try {
    const whole = await stepOf({ maxSteps: 1 });
    // Rows carry 12, 5 and 2 completion tokens: weighing micro-batches by rows would change both.
    const split = await stepOf({ maxSteps: 1, batchSize: 2, gradAccum: 2 });
    assert.equal(whole.completion_tokens, 19);
    assert.equal(split.completion_tokens, 19);
    assert.ok(rel(whole.loss, parity.full.loss) < 1e-5, `loss ${whole.loss}`);
    assert.ok(rel(split.loss, whole.loss) < 1e-5, `loss ${split.loss} vs ${whole.loss}`);
    assert.ok(
      rel(split.grad_norm, whole.grad_norm) < 1e-4,
      `${split.grad_norm} vs ${whole.grad_norm}`,
    );
  } finally {
    base.close();
  }
});

/** Eight prompt-completion rows, conversational, each completion unlike the others. */
function rowsFile(dir: string): { file: string; rows: { prompt: unknown; completion: unknown }[] } {
  const facts = [
    ['the sea', 'The sea is salty and deep.'],
    ['mountains', 'Mountains are tall and cold.'],
    ['a cat', 'A cat purrs when it is happy.'],
    ['rain', 'Rain falls from grey clouds.'],
    ['the moon', 'The moon circles the earth.'],
    ['bread', 'Bread is baked from flour.'],
    ['music', 'Music is sound in time.'],
    ['trains', 'Trains run on steel rails.'],
  ];
  const rows = facts.map(([topic, answer]) => ({
    prompt: [{ role: 'user', content: `Tell me about ${topic}.` }],
    completion: [{ role: 'assistant', content: answer }],
  }));
  const file = join(dir, 'rows.jsonl');
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return { file, rows };
}

test('pipeline train --loss sft --full on builtin:tiny memorizes: NLL falls, greedy decoding repeats a completion', () => {
  const env = { RLAIF_CACHE_DIR: mkdtempSync(join(tmpdir(), 'rlaif-cache-')) };
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-sft-'));
  const { file } = rowsFile(dir);
  const out = join(dir, 'full');
  const r = runCli(
    [
      'train',
      '--model',
      'builtin:tiny',
      '--data',
      file,
      '--out',
      out,
      '--loss',
      'sft',
      '--full',
      '--steps',
      '60',
      '--batch-size',
      '8',
      '--learning-rate',
      '3e-3',
      '--lr-schedule',
      'constant',
      '--json',
    ],
    { env },
  );
  assert.equal(r.status, 0, r.stderr);
  const steps = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>);
  assert.equal(steps.length, 60);
  const first = steps[0].loss;
  const last = steps[steps.length - 1].loss;
  // From random init (≈ log 640 nats per token) to memorized: measured 6.47 → 0.11.
  assert.ok(last < first / 10, `completion NLL ${first} → ${last}`);
  assert.ok(steps.every((m) => m.completion_tokens > 0 && m.tokens_per_s > 0));

  const g = runCli(
    [
      'generate',
      '--model',
      out,
      '--prompt',
      'Tell me about a cat.',
      '--greedy',
      '--max-new-tokens',
      '24',
      '--json',
    ],
    { env },
  );
  assert.equal(g.status, 0, g.stderr);
  const text = JSON.stringify(JSON.parse(g.stdout));
  assert.ok(text.includes('A cat purrs when it is happy.'), text);
});

test('trainSft (LoRA by default) writes a PEFT adapter and lowers the loss', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-sft-lora-'));
  const { rows } = rowsFile(dir);
  const out = join(dir, 'adapter');
  const o = await trainSft({
    model: 'builtin:tiny',
    rows,
    out,
    maxSteps: 10,
    batchSize: 8,
    learningRate: 1e-2,
    lrSchedule: 'constant',
  });
  assert.equal(o.kind, 'lora');
  assert.ok(existsSync(join(out, 'adapter_config.json')));
  assert.ok(existsSync(join(out, 'adapter_model.safetensors')));
  assert.equal(o.steps.length, 10);
  assert.ok(o.steps[9].loss < o.steps[0].loss - 0.5, `${o.steps[0].loss} → ${o.steps[9].loss}`);
});

test('sft alone on prompt-completion rows is SFT; on pairs it stays the chosen-side pair loss', () => {
  const completion = [{ prompt: 'a', completion: 'b' }];
  const pair = [{ prompt: 'a', chosen: 'b', rejected: 'c' }];
  assert.equal(trainingKind({ losses: ['sft'], rows: completion }), 'sft');
  assert.equal(trainingKind({ losses: ['sft'], rows: pair }), 'pairs');
  assert.equal(trainingKind({ losses: ['sigmoid', 'sft'], rows: pair }), 'pairs');
  assert.equal(trainingKind({ losses: ['kto'], rows: completion }), 'kto');
});

test('rows keep their first max_length tokens (TRL keep_start); a prompt that fills it drops the row', () => {
  const base = loadModel('builtin:tiny');
  try {
    const rows = [
      { prompt: 'short', completion: ' a rather long completion that will be cut' },
      { prompt: 'a prompt long enough to fill every one of the allowed tokens', completion: ' x' },
    ];
    const whole = tokenizeSftRows(base.tokenizer, rows, ['f:1', 'f:2']);
    const max = whole.rows[0].promptIds.length + 3;
    assert.ok(whole.rows[1].promptIds.length >= max, 'second prompt fills max_length');
    const cut = tokenizeSftRows(base.tokenizer, rows, ['f:1', 'f:2'], max);
    assert.deepEqual(cut.dropped, ['f:2']);
    assert.deepEqual(cut.rows[0].promptIds, whole.rows[0].promptIds);
    assert.deepEqual(cut.rows[0].responseIds, whole.rows[0].responseIds.slice(0, 3));
    assert.throws(
      () =>
        tokenizeSftRows(base.tokenizer, [{ prompt: 'a', completion: 'b', label: false }], ['f:3']),
      /f:3: a KTO row/,
    );
    assert.throws(
      () => tokenizeSftRows(base.tokenizer, [{ prompt: 'a', chosen: 'b', rejected: 'c' }], ['f:4']),
      /f:4: a preference pair/,
    );
  } finally {
    base.close();
  }
});
