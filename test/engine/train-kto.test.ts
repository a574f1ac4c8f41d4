// KTO end to end: the batch plan (KL completions rotate within each micro-batch), the step
// graph's loss and metrics against the float64 TRL formula on separately scored log-probs, its
// gradients against finite differences in float64 (with the KL estimate detached), learning on
// builtin:tiny through `pipeline train --loss kto`, and the errors for bad input.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readJsonl } from '../../src/cli/read-jsonl.js';
import { isPipelineError } from '../../src/core/errors.js';
import { scoreSequences, type ScoreSequence } from '../../src/engine/generate/score.js';
import { toOnnxBytes } from '../../src/engine/graph/serialize.js';
import { buildLogprobsGraph, initializerBinder } from '../../src/engine/model/inference-graphs.js';
import { loadModel, type LoadedModel } from '../../src/engine/model/load-model.js';
import { loadLoraAdapter } from '../../src/engine/model/peft-adapter.js';
import { OrtSession, hostData, tensor, type Tensor } from '../../src/engine/runtime/ort-session.js';
import { buildKtoGraph } from '../../src/engine/train/kto-graph.js';
import {
  KtoTrainer,
  ktoSequence,
  planKtoSteps,
  tokenizeKtoRows,
  type KtoTrainerOptions,
} from '../../src/engine/train/kto-trainer.js';
import type { LossOptions } from '../../src/engine/train/losses/index.js';
import { referenceKtoLoss } from '../helpers/reference-losses.js';
import { DEFAULT_LORA_TARGETS, type LoraSpec } from '../../src/engine/train/lora.js';
import { gradAccIn, gradAccOut } from '../../src/engine/train/train-graph.js';
import { runCli } from '../helpers/cli.js';
import { fixture } from '../helpers/fixtures.js';
import { testRng, tinyConfig, tinyWeights } from '../helpers/tiny-config.js';

const env = { RLAIF_CACHE_DIR: mkdtempSync(join(tmpdir(), 'rlaif-cache-')) };

function lossOptions(over: Partial<LossOptions> = {}): LossOptions {
  return {
    beta: 0.1,
    labelSmoothing: 0,
    simpoGamma: 0.5,
    desirableWeight: 1,
    undesirableWeight: 1,
    ...over,
  };
}

function trainerOptions(over: Partial<KtoTrainerOptions>): KtoTrainerOptions {
  return {
    mode: { kind: 'full' },
    losses: ['kto'],
    lossWeights: [1],
    lossOptions: lossOptions(),
    optimizer: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 0 },
    learningRate: 1e-3,
    lrSchedule: 'constant',
    warmupSteps: 0,
    epochs: 1,
    batchSize: 4,
    gradAccum: 1,
    seed: 0,
    ...over,
  };
}

describe('KTO batch plan', () => {
  test('micro-batches cover each epoch once; KL completions rotate by one within each', () => {
    const opts = { batchSize: 4, gradAccum: 2, epochs: 2, seed: 1 };
    const plan = planKtoSteps(10, opts);
    // 10 rows, 8 per step, a step never spans two epochs: [4, 4], [2] per epoch.
    assert.deepEqual(
      plan.map((s) => s.micro.map((m) => m.rows.length)),
      [[4, 4], [2], [4, 4], [2]],
    );
    assert.deepEqual(
      plan.map((s) => s.epoch),
      [0.8, 1, 1.8, 2],
    );
    for (const epoch of [plan.slice(0, 2), plan.slice(2)]) {
      const rows = epoch.flatMap((s) => s.micro.flatMap((m) => m.rows));
      assert.deepEqual(
        [...rows].sort((a, b) => a - b),
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      );
    }
    for (const m of plan.flatMap((s) => s.micro)) {
      // TRL _get_kl_dataset: [y_1..y_n] -> [y_n, y_1, ..., y_{n-1}]
      assert.deepEqual(m.kl, [m.rows[m.rows.length - 1], ...m.rows.slice(0, -1)]);
      m.rows.forEach((r, k) => assert.notEqual(m.kl[k], r));
    }
    assert.deepEqual(planKtoSteps(10, opts), plan, 'same seed, same plan');
    assert.notDeepEqual(planKtoSteps(10, { ...opts, seed: 2 }), plan);
  });

  test('a one-row tail borrows the previous row’s completion; batch size 1 and 1 row are refused', () => {
    const plan = planKtoSteps(5, { batchSize: 2, gradAccum: 1, epochs: 1, seed: 0 });
    assert.equal(plan.length, 3);
    const order = plan.flatMap((s) => s.micro.flatMap((m) => m.rows));
    const tail = plan[2].micro[0];
    assert.deepEqual(tail.rows, [order[4]]);
    assert.deepEqual(tail.kl, [order[3]]);
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return isPipelineError(e) ? e.code : String(e);
      }
      return 'no error';
    };
    assert.equal(
      code(() => planKtoSteps(5, { batchSize: 1, gradAccum: 1, epochs: 1, seed: 0 })),
      'E_LOSS_CONFIG',
    );
    assert.equal(
      code(() => planKtoSteps(1, { batchSize: 2, gradAccum: 1, epochs: 1, seed: 0 })),
      'E_TRAIN_NO_DATA',
    );
  });
});

async function scoreWith(model: LoadedModel, seqs: ScoreSequence[]): Promise<number[]> {
  const s = await OrtSession.create(
    toOnnxBytes(buildLogprobsGraph(model.config, initializerBinder(model.weights))),
  );
  try {
    // One sequence per run: batching and padding independent of the step graph's.
    return (await scoreSequences(s, seqs, { padId: 0, batchSize: 1 })).map((x) => x.logps);
  } finally {
    await s.release();
  }
}

test('KTO step graph: loss and TRL metrics equal the float64 formula on separately scored log-probs', async (t) => {
  const root = fixture(t, 'hf-tiny');
  if (!root) return;
  const pairs = readJsonl(join(root, 'pairs.jsonl')).slice(0, 3);
  const raw = pairs.flatMap((p) => {
    const v = p.value as Record<string, unknown>;
    return [
      { prompt: v.prompt, completion: v.chosen, label: true },
      { prompt: v.prompt, completion: v.rejected, label: false },
    ];
  });
  const labels = pairs.flatMap((p) => [p.where, p.where]);
  const adapterDir = join(root, 'dpo', 'tiny-llama', 'lora-adapter');
  const base = loadModel(join(root, 'tiny-llama'));
  const policy = loadModel(join(root, 'tiny-llama'), { adapter: adapterDir });
  const adapter = loadLoraAdapter(adapterDir);
  const lo = lossOptions({ beta: 0.5, desirableWeight: 1.3, undesirableWeight: 0.8 });
  const opts = trainerOptions({
    mode: {
      kind: 'lora',
      lora: { r: adapter.config.r, alpha: adapter.config.loraAlpha, targets: DEFAULT_LORA_TARGETS },
    },
    lossOptions: lo,
    batchSize: 6,
    seed: 3,
  });
  const trainer = await KtoTrainer.create(base, opts, adapter);
  try {
    const rows = tokenizeKtoRows(base.tokenizer, raw, labels);
    const plan = planKtoSteps(rows.length, opts);
    assert.equal(plan.length, 1);
    const mb = plan[0].micro[0];
    const refs = await KtoTrainer.referenceLogps(base, rows, plan, { padId: 0 });
    const { loss, metrics } = await trainer.gradients(rows, refs, mb);

    const matched = mb.rows.map((p) => ktoSequence(rows, p, p));
    const kl = mb.rows.map((p, k) => ktoSequence(rows, p, mb.kl[k]));
    const ref = await scoreWith(base, matched);
    const refKl = await scoreWith(base, kl);
    const expected = referenceKtoLoss(
      {
        policy: await scoreWith(policy, matched),
        ref,
        policyKl: await scoreWith(policy, kl),
        refKl,
        desirable: mb.rows.map((p) => (rows[p].desirable ? 1 : 0)),
      },
      lo,
    );
    // The precomputed references are the same numbers.
    mb.rows.forEach((p, k) => {
      assert.ok(Math.abs(refs.matched[p] - ref[k]) < 1e-3, `ref ${p}`);
      assert.ok(Math.abs(refs.kl.get(`${p}>${mb.kl[k]}`)! - refKl[k]) < 1e-3, `ref kl ${p}`);
    });
    assert.ok(
      expected.metrics.kl > 0,
      `the KL estimate is not clamped here (${expected.metrics.kl})`,
    );
    assert.ok(Math.abs(loss - expected.loss) < 1e-5, `loss ${loss} vs ${expected.loss}`);
    t.diagnostic(`loss ${loss} (float64 ${expected.loss}), kl ${metrics.kl}`);
    for (const [k, v] of Object.entries(expected.metrics)) {
      assert.ok(k in metrics, `metric ${k} missing`);
      assert.ok(
        Math.abs(metrics[k] - v) <= 2e-4 * Math.max(1, Math.abs(v)),
        `${k}: ${metrics[k]} vs ${v}`,
      );
    }
  } finally {
    await trainer.close();
    base.close();
    policy.close();
  }
});

// ---- gradients vs finite differences, float64 -----------------------------------------------------

test('KTO step graph: LoRA gradients match float64 finite differences with z0 detached', async (t) => {
  const cfg = tinyConfig();
  const r = testRng(5);
  const weights = tinyWeights(cfg, r);
  const lora: LoraSpec = { r: 2, alpha: 4, targets: ['q_proj', 'v_proj', 'down_proj'] };
  const { graph, params } = buildKtoGraph({
    cfg,
    weights,
    mode: { kind: 'lora', lora },
    lossOptions: lossOptions({ beta: 1, desirableWeight: 1.2, undesirableWeight: 0.7 }),
    optimizer: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 0 },
    float: 'float64',
  });
  const values = new Map(
    params.map((p) => [
      p.name,
      Float64Array.from({ length: p.dims.reduce((a, b) => a * b, 1) }, () => r() - 0.5),
    ]),
  );

  // Three rows: prompt + completion, KL rows pair each prompt with the previous completion.
  const prompts = [
    [3, 7, 3],
    [12, 5],
    [9, 30, 2, 4],
  ];
  const completions = [
    [8, 3, 11],
    [20, 21],
    [6, 6, 17, 1],
  ];
  const seqs = [0, 1, 2].map((i) => ({ p: prompts[i], c: completions[i] }));
  const klSeqs = [0, 1, 2].map((i) => ({ p: prompts[i], c: completions[(i + 2) % 3] }));
  const all = [...seqs, ...klSeqs];
  const S = Math.max(...all.map((s) => s.p.length + s.c.length));
  const ids = new BigInt64Array(6 * S);
  const mask = new BigInt64Array(6 * S);
  const resp = new Float64Array(6 * S);
  all.forEach((s, row) =>
    [...s.p, ...s.c].forEach((tok, j) => {
      ids[row * S + j] = BigInt(tok);
      mask[row * S + j] = 1n;
      if (j >= s.p.length) resp[row * S + j] = 1;
    }),
  );

  const session = await OrtSession.create(toOnnxBytes(graph), {
    optimization: 'basic',
    threads: 1,
  });
  const f64 = (xs: ArrayLike<number>, dims: number[]) =>
    tensor('float64', Float64Array.from(xs), dims);
  const run = async (label: number[], ref: number[], refKl: number[]) => {
    const feeds: Record<string, Tensor> = {
      input_ids: tensor('int64', ids, [6, S]),
      attention_mask: tensor('int64', mask, [6, S]),
      response_mask: f64(resp, [6, S]),
      label: f64(label, [3]),
      ref_logps: f64(ref, [3]),
      ref_kl_logps: f64(refKl, [3]),
      loss_scale: f64([1], []),
    };
    for (const p of params) {
      const n = p.dims.reduce((a, b) => a * b, 1);
      feeds[p.name] = f64(values.get(p.name)!, p.dims);
      feeds[gradAccIn(p.name)] = f64(new Float64Array(n), p.dims);
    }
    const out = await session.run(feeds);
    const scalar = (k: string) => hostData<Float64Array>(out[k])[0];
    return {
      loss: scalar('loss'),
      kl: scalar('kl'),
      logpsChosen: scalar('logps/chosen'),
      grads: new Map(params.map((p) => [p.name, hostData<Float64Array>(out[gradAccOut(p.name)])])),
    };
  };

  try {
    // Per-row policy log-probs: logps/chosen with a one-hot label is that row's sum; the KL
    // rows' mean comes from the KL metric with references far below.
    const policy: number[] = [];
    for (let i = 0; i < 3; i++)
      policy.push(
        (
          await run(
            [0, 1, 2].map((j) => (j === i ? 1 : 0)),
            [0, 0, 0],
            [0, 0, 0],
          )
        ).logpsChosen,
      );
    const klMean = (await run([1, 0, 1], [0, 0, 0], [-1e3, -1e3, -1e3])).kl - 1e3;

    const label = [1, 0, 1];
    // r_i − z0 = moderate values, so σ is far from saturation.
    const ref = policy.map((x, i) => x - [0.4, -0.3, 0.9][i]);
    const cases = [
      { name: 'z0 > 0', refKl: [0.1, 0.2, 0.3].map((d) => klMean - d) },
      { name: 'z0 clamped at 0', refKl: [5, 5, 5].map((d) => klMean + d) },
    ];
    const H = 1e-5;
    const pick = testRng(9);
    let worst = 0;
    let correction = 0;
    for (const c of cases) {
      const base = await run(label, ref, c.refKl);
      if (c.name === 'z0 > 0') assert.ok(Math.abs(base.kl - 0.2) < 1e-9, `z0 ${base.kl}`);
      else assert.equal(base.kl, 0);
      // ∂L/∂z0: shifting every reference KL log-prob by +δ moves z0 by −δ (while z0 > 0).
      const d = 1e-4;
      const dLdz0 =
        c.name === 'z0 > 0'
          ? -(
              (
                await run(
                  label,
                  ref,
                  c.refKl.map((x) => x + d),
                )
              ).loss -
              (
                await run(
                  label,
                  ref,
                  c.refKl.map((x) => x - d),
                )
              ).loss
            ) /
            (2 * d)
          : 0;
      for (const p of params) {
        const w = values.get(p.name)!;
        const an = base.grads.get(p.name)!;
        assert.ok(
          an.some((v) => v !== 0),
          `${p.name}: gradient is all zeros`,
        );
        {
          const i = Math.floor(pick() * w.length);
          const orig = w[i];
          w[i] = orig + H;
          const plus = await run(label, ref, c.refKl);
          w[i] = orig - H;
          const minus = await run(label, ref, c.refKl);
          w[i] = orig;
          // The graph detaches z0, so its gradient is the total derivative minus the path
          // through z0 (dz0/dθ from the kl output).
          const total = (plus.loss - minus.loss) / (2 * H);
          const viaZ0 = (dLdz0 * (plus.kl - minus.kl)) / (2 * H);
          correction = Math.max(correction, Math.abs(viaZ0));
          const fd = total - viaZ0;
          const err = Math.abs(an[i] - fd) / Math.max(1e-3, Math.abs(fd));
          worst = Math.max(worst, err);
          assert.ok(err < 1e-5, `${c.name} ${p.name}[${i}]: analytic ${an[i]} vs fd ${fd}`);
        }
      }
    }
    // The check would catch a KL term that is not detached.
    assert.ok(correction > 1e-4, `path through z0 too small to matter (${correction})`);
    t.diagnostic(
      `worst relative error ${worst.toExponential(2)}, largest z0 path ${correction.toExponential(2)}`,
    );
  } finally {
    await session.release();
  }
});

// ---- CLI: learning and errors -----------------------------------------------------------------------

function ktoRows(): { prompt: unknown; completion: unknown; label: boolean }[] {
  const topics = [
    'the sea',
    'mountains',
    'a cat',
    'rain',
    'the moon',
    'bread',
    'music',
    'trains',
    'winter',
    'coffee',
    'rivers',
    'books',
    'gardens',
    'clocks',
    'bees',
    'stars',
  ];
  return topics.map((topic, i) => ({
    prompt: [{ role: 'user', content: `Tell me about ${topic}.` }],
    completion: [
      {
        role: 'assistant',
        content: i % 2 === 0 ? `Here is a short, kind answer about ${topic}.` : 'No.',
      },
    ],
    label: i % 2 === 0,
  }));
}

function writeRows(dir: string, name: string, rows: unknown[]): string {
  const file = join(dir, name);
  writeFileSync(file, rows.map((x) => JSON.stringify(x)).join('\n') + '\n');
  return file;
}

const logps = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { logps: number }).logps);

test('pipeline train --loss kto on builtin:tiny raises desirable completions over undesirable ones', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-kto-'));
  const rows = ktoRows();
  const data = writeRows(dir, 'kto.jsonl', rows);
  const out = join(dir, 'adapter');
  const r = runCli(
    [
      'train',
      '--model',
      'builtin:tiny',
      '--data',
      data,
      '--out',
      out,
      '--loss',
      'kto',
      '--steps',
      '16',
      '--batch-size',
      '8',
      '--learning-rate',
      '2e-3',
      '--lr-schedule',
      'constant',
      '--lora-r',
      '8',
      '--lora-alpha',
      '16',
      '--beta',
      '0.1',
      '--json',
    ],
    { env },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /16 KTO rows \(8 desirable, 8 undesirable\)/);
  const steps = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>);
  assert.equal(steps.length, 16);
  for (const s of steps)
    for (const k of [
      'loss',
      'grad_norm',
      'learning_rate',
      'tokens_per_s',
      'kl',
      'rewards/chosen',
      'rewards/rejected',
      'rewards/margins',
      'logps/chosen',
      'logps/rejected',
    ])
      assert.ok(Number.isFinite(s[k]) && (k !== 'kl' || s[k] >= 0), `${k} ${s[k]}`);
  const avg = (xs: Record<string, number>[], k: string) =>
    xs.reduce((a, s) => a + s[k], 0) / xs.length;
  const first = steps.slice(0, 3);
  const last = steps.slice(-3);
  assert.ok(avg(last, 'loss') < avg(first, 'loss') - 0.1, 'loss falls');
  assert.ok(avg(last, 'rewards/margins') > avg(first, 'rewards/margins') + 0.5, 'margins grow');

  const before = runCli(['score', '--model', 'builtin:tiny', '--data', data, '--json'], { env });
  const after = runCli(
    ['score', '--model', 'builtin:tiny', '--adapter', out, '--data', data, '--json'],
    { env },
  );
  for (const x of [before, after]) assert.equal(x.status, 0, x.stderr);
  const b = logps(before.stdout);
  const a = logps(after.stdout);
  const delta = a.map((x, i) => x - b[i]);
  const up = delta.filter((_, i) => rows[i].label);
  const down = delta.filter((_, i) => !rows[i].label);
  t.diagnostic(
    `Δlogp desirable min ${Math.min(...up).toFixed(2)}, undesirable max ${Math.max(...down).toFixed(2)}`,
  );
  assert.ok(Math.min(...up) > Math.max(...down) + 1, `${up} vs ${down}`);
  assert.ok(Math.max(...down) < 0, 'undesirable completions became less likely');
});

test('bad KTO input: clear errors at file:line, kto alone, batch size ≥ 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-kto-bad-'));
  const kto = writeRows(dir, 'kto.jsonl', ktoRows().slice(0, 4));
  const paired = writeRows(dir, 'pairs.jsonl', [
    { prompt: 'Hi.', chosen: 'Hello!', rejected: 'Go away.' },
  ]);
  const unlabelled: Record<string, unknown> = { ...ktoRows()[1] };
  delete unlabelled.label;
  const noLabel = writeRows(dir, 'nolabel.jsonl', [ktoRows()[0], unlabelled]);
  const train = (...args: string[]) =>
    runCli(
      ['train', '--model', 'builtin:tiny', '--out', join(dir, 'out'), '--steps', '1', ...args],
      {
        env,
      },
    );
  const cases: [string[], RegExp][] = [
    [
      ['--data', paired, '--loss', 'kto'],
      /pairs\.jsonl:1: a paired preference row.*KTO needs unpaired rows/,
    ],
    [['--data', kto, '--loss', 'kto,sigmoid'], /"kto" cannot be combined/],
    [['--data', kto], /kto\.jsonl:1: an unpaired KTO row/],
    [['--data', noLabel, '--loss', 'kto'], /nolabel\.jsonl:2: 'label' must be true/],
    [['--data', kto, '--loss', 'kto', '--batch-size', '1'], /batch size of at least 2/],
  ];
  for (const [args, message] of cases) {
    const r = train(...args);
    assert.ok(r.status === 1 || r.status === 2, `${args.join(' ')}: exit ${r.status}`);
    assert.match(r.stderr, message);
  }
});
