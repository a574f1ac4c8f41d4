// One DPO step against PyTorch/TRL numbers (fixtures/hf-tiny/dpo/tiny-llama): loss, rewards and
// the gradient of every trainable tensor, for full fine-tuning and for LoRA.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readJsonl } from '../../src/cli/read-jsonl.js';
import { loadModel } from '../../src/engine/model/load-model.js';
import { loadLoraAdapter, type LoraAdapter } from '../../src/engine/model/peft-adapter.js';
import { SafetensorsFile } from '../../src/engine/model/safetensors.js';
import { DEFAULT_LORA_TARGETS } from '../../src/engine/train/lora.js';
import { tokenizePairs } from '../../src/engine/train/pair-batches.js';
import type { TrainerOptions } from '../../src/engine/train/trainer-options.js';
import { DpoTrainer } from '../../src/engine/train/trainer.js';
import type { Tokenizer } from '../../src/engine/tokenizer/tokenizer.js';
import { runCli } from '../helpers/cli.js';
import { fixture } from '../helpers/fixtures.js';
import { relMaxDiff } from '../helpers/reference.js';

interface Expected {
  reference_model_logps: { chosen: number[]; rejected: number[] };
  full: {
    loss: number;
    policy_chosen_logps: number[];
    policy_rejected_logps: number[];
    rewards_chosen: number[];
    rewards_rejected: number[];
  };
  lora: {
    r: number;
    alpha: number;
    loss: number;
    policy_chosen_logps: number[];
    policy_rejected_logps: number[];
  };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function options(mode: TrainerOptions['mode']): TrainerOptions {
  return {
    mode,
    losses: ['sigmoid'],
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
    batchSize: 2,
    gradAccum: 1,
    seed: 0,
  };
}

function compareGrads(grads: Map<string, Float32Array>, file: string): void {
  const ref = SafetensorsFile.open(file);
  const names = ref.names();
  assert.deepEqual([...grads.keys()].sort(), [...names].sort(), 'same set of trainable tensors');
  for (const name of names) {
    const rel = relMaxDiff(grads.get(name)!, ref.readFloat32(name));
    assert.ok(rel < 1e-3, `${name}: relative max diff ${rel}`);
  }
  ref.close();
}

async function setup(t: import('node:test').TestContext) {
  const root = fixture(t, 'hf-tiny');
  if (!root) return undefined;
  const expected = JSON.parse(
    readFileSync(join(root, 'dpo', 'tiny-llama', 'expected.json'), 'utf8'),
  ) as Expected;
  const rows = readJsonl(join(root, 'pairs.jsonl'));
  const refs = expected.reference_model_logps.chosen.map((c, i) => ({
    chosen: c,
    rejected: expected.reference_model_logps.rejected[i],
  }));
  // The fixture pairs tokenized by a model's own tokenizer.
  const pairsFor = (tokenizer: Tokenizer) =>
    tokenizePairs(
      tokenizer,
      rows.map((r) => r.value),
      rows.map((r) => r.where),
      4096,
    );
  return { root, expected, rows, refs, pairsFor };
}

/** LoRA training options matching a PEFT adapter's rank and alpha. */
function loraOf(adapter: LoraAdapter) {
  return { r: adapter.config.r, alpha: adapter.config.loraAlpha, targets: DEFAULT_LORA_TARGETS };
}

test('full fine-tune: DPO loss, rewards and every gradient match PyTorch (1e-3 relative)', async (t) => {
  const s = await setup(t);
  if (!s) return;
  const policy = loadModel(join(s.root, 'dpo', 'tiny-llama', 'policy'));
  const pairs = s.pairsFor(policy.tokenizer);
  // The reference log-probs come from our own inference graph on tiny-llama…
  const computed = await DpoTrainer.referenceLogps(loadModel(join(s.root, 'tiny-llama')), pairs, {
    padId: 0,
  });
  computed.forEach((r, i) => assert.ok(Math.abs(r.chosen - s.refs[i].chosen) < 1e-3));
  const trainer = await DpoTrainer.create(policy, options({ kind: 'full' }));
  try {
    const { grads, loss, metrics } = await trainer.gradients(pairs, computed);
    assert.ok(
      Math.abs(loss - s.expected.full.loss) < 1e-4,
      `loss ${loss} vs ${s.expected.full.loss}`,
    );
    assert.ok(Math.abs(metrics['logps/chosen'] - mean(s.expected.full.policy_chosen_logps)) < 1e-2);
    assert.ok(
      Math.abs(metrics['logps/rejected'] - mean(s.expected.full.policy_rejected_logps)) < 1e-2,
    );
    assert.ok(Math.abs(metrics['rewards/chosen'] - mean(s.expected.full.rewards_chosen)) < 1e-4);
    assert.ok(
      Math.abs(metrics['rewards/rejected'] - mean(s.expected.full.rewards_rejected)) < 1e-4,
    );
    compareGrads(grads, join(s.root, 'dpo', 'tiny-llama', 'full_grads.safetensors'));
  } finally {
    await trainer.close();
    policy.close();
  }
});

test('LoRA: loss and every lora_A/lora_B gradient match PEFT + PyTorch (1e-3 relative)', async (t) => {
  const s = await setup(t);
  if (!s) return;
  const base = loadModel(join(s.root, 'tiny-llama'));
  const adapter = loadLoraAdapter(join(s.root, 'dpo', 'tiny-llama', 'lora-adapter'));
  const pairs = s.pairsFor(base.tokenizer);
  const trainer = await DpoTrainer.create(
    base,
    options({
      kind: 'lora',
      lora: loraOf(adapter),
    }),
    adapter,
  );
  try {
    const { grads, loss, metrics } = await trainer.gradients(pairs, s.refs);
    assert.ok(
      Math.abs(loss - s.expected.lora.loss) < 1e-4,
      `loss ${loss} vs ${s.expected.lora.loss}`,
    );
    assert.ok(Math.abs(metrics['logps/chosen'] - mean(s.expected.lora.policy_chosen_logps)) < 1e-2);
    compareGrads(grads, join(s.root, 'dpo', 'tiny-llama', 'lora_grads.safetensors'));
  } finally {
    await trainer.close();
    base.close();
  }
});

test('gradient checkpointing recomputes every layer and leaves loss and gradients unchanged', async (t) => {
  const s = await setup(t);
  if (!s) return;
  const dir = join(s.root, 'dpo', 'tiny-llama');
  const adapter = loadLoraAdapter(join(dir, 'lora-adapter'));
  const lora = loraOf(adapter);
  const cases = [
    {
      name: 'full',
      model: join(dir, 'policy'),
      mode: { kind: 'full' as const },
      loss: s.expected.full.loss,
    },
    {
      name: 'lora',
      model: join(s.root, 'tiny-llama'),
      mode: { kind: 'lora' as const, lora },
      loss: s.expected.lora.loss,
    },
  ];
  for (const c of cases) {
    const model = loadModel(c.model);
    const pairs = s.pairsFor(model.tokenizer);
    const trainer = await DpoTrainer.create(
      model,
      { ...options(c.mode), gradientCheckpointing: true },
      c.name === 'lora' ? adapter : undefined,
    );
    try {
      const nodes = trainer.graph.graph.nodes;
      // Each layer's copy starts from its input plus a zero that waits for the layer's gradient.
      const starts = nodes.filter((n) => /\/recompute\/WaitForGradient(_\d+)?$/.test(n.name));
      assert.equal(starts.length, model.config.numHiddenLayers, `${c.name}: one copy per layer`);
      const copies = nodes.filter((n) => n.name.includes('/recompute/')).length;
      assert.ok(copies > 20 * starts.length, `${c.name}: ${copies} recomputed nodes`);
      const { grads, loss } = await trainer.gradients(pairs, s.refs);
      assert.ok(Math.abs(loss - c.loss) < 1e-4, `${c.name}: loss ${loss} vs ${c.loss}`);
      compareGrads(grads, join(dir, `${c.name}_grads.safetensors`));
    } finally {
      await trainer.close();
      model.close();
    }
  }
});

test('gradient accumulation: two micro-batches of one pair step the weights like one batch of two', async (t) => {
  const s = await setup(t);
  if (!s) return;
  const base = loadModel(join(s.root, 'tiny-llama'));
  const adapter = loadLoraAdapter(join(s.root, 'dpo', 'tiny-llama', 'lora-adapter'));
  const lora = loraOf(adapter);
  const pairs = s.pairsFor(base.tokenizer);
  const refs = s.refs;
  const stepWith = async (gradAccum: number, micro: Parameters<DpoTrainer['step']>[0]) => {
    const trainer = await DpoTrainer.create(
      base,
      { ...options({ kind: 'lora', lora }), gradAccum },
      adapter,
    );
    const copy = () => new Map([...trainer.params].map(([k, v]) => [k, Float32Array.from(v)]));
    try {
      const before = copy();
      const m = await trainer.step(micro, 1, 0);
      return { m, before, params: copy() };
    } finally {
      await trainer.close();
    }
  };
  try {
    const whole = await stepWith(1, [{ pairs, refs }]);
    const split = await stepWith(2, [
      { pairs: pairs.slice(0, 1), refs: refs.slice(0, 1) },
      { pairs: pairs.slice(1), refs: refs.slice(1) },
    ]);
    assert.ok(
      Math.abs(whole.m.loss - split.m.loss) < 1e-5,
      `loss ${whole.m.loss} vs ${split.m.loss}`,
    );
    assert.ok(
      Math.abs(whole.m.grad_norm - split.m.grad_norm) < 1e-4 * whole.m.grad_norm,
      `grad norm ${whole.m.grad_norm} vs ${split.m.grad_norm}`,
    );
    let moved = 0;
    for (const [name, w] of whole.params) {
      moved = Math.max(moved, relMaxDiff(w, whole.before.get(name)!));
      const rel = relMaxDiff(split.params.get(name)!, w);
      assert.ok(rel < 1e-4, `${name}: relative max diff ${rel}`);
    }
    assert.ok(moved > 1e-4, `the step moved the adapter (${moved})`);
  } finally {
    base.close();
  }
});

test('pipeline train --dump-grads writes the same gradients (full, and LoRA with --gradient-checkpointing)', async (t) => {
  const s = await setup(t);
  if (!s) return;
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-dump-'));
  const data = join(s.root, 'pairs.jsonl');
  const full = runCli([
    'train',
    '--model',
    join(s.root, 'dpo', 'tiny-llama', 'policy'),
    '--ref-model',
    join(s.root, 'tiny-llama'),
    '--data',
    data,
    '--full',
    '--beta',
    '0.1',
    '--batch-size',
    '2',
    '--steps',
    '1',
    '--dump-grads',
    join(dir, 'full.safetensors'),
    '--out',
    join(dir, 'full'),
  ]);
  assert.equal(full.status, 0, full.stderr);
  const lora = runCli([
    'train',
    '--model',
    join(s.root, 'tiny-llama'),
    '--adapter',
    join(s.root, 'dpo', 'tiny-llama', 'lora-adapter'),
    '--data',
    data,
    '--gradient-checkpointing',
    '--beta',
    '0.1',
    '--batch-size',
    '2',
    '--steps',
    '1',
    '--dump-grads',
    join(dir, 'lora.safetensors'),
    '--out',
    join(dir, 'lora'),
  ]);
  assert.equal(lora.status, 0, lora.stderr);
  for (const [mine, theirs] of [
    ['full.safetensors', 'full_grads.safetensors'],
    ['lora.safetensors', 'lora_grads.safetensors'],
  ]) {
    const a = SafetensorsFile.open(join(dir, mine));
    compareGrads(
      new Map(a.names().map((n) => [n, a.readFloat32(n)])),
      join(s.root, 'dpo', 'tiny-llama', theirs),
    );
  }
});
