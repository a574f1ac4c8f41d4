// AdamW and gradient clipping as graph nodes (run by onnxruntime) against float64 JS references
// and closed forms; learning-rate schedules against transformers' formulas.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { GraphBuilder } from '../../src/engine/graph/builder.js';
import { toOnnxBytes } from '../../src/engine/graph/serialize.js';
import { OrtSession, hostData, tensor } from '../../src/engine/runtime/ort-session.js';
import { buildAdamWUpdate, buildClipByGlobalNorm } from '../../src/engine/train/optim/adamw.js';
import { AdamWSession } from '../../src/engine/train/optim/adamw-session.js';
import {
  referenceAdamWStep,
  referenceClipByGlobalNorm,
  type AdamWScalars,
} from '../helpers/reference-adamw.js';
import { learningRateAt, type ScheduleOptions } from '../../src/engine/train/optim/schedule.js';
import { throwsCode } from '../helpers/errors.js';

type Float = 'float32' | 'float64';
const SHAPES = [[3, 4], [5], []];
const size = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

/** A graph doing one AdamW step on three tensors (a matrix, a vector, a scalar). */
async function adamwSession(float: Float, hp: Omit<AdamWScalars, 'lr' | 'step'>) {
  const b = new GraphBuilder('adamw', float);
  const lr = b.input('lr', float, []);
  const step = b.input('step', float, []);
  const states = SHAPES.map((dims, i) => ({
    param: b.input(`p${i}`, float, dims),
    grad: b.input(`g${i}`, float, dims),
    m: b.input(`m${i}`, float, dims),
    v: b.input(`v${i}`, float, dims),
  }));
  const next = buildAdamWUpdate(b, states, { lr, step, ...hp });
  next.forEach((n, i) => {
    b.output(n.param, `p${i}_out`, float, SHAPES[i]);
    b.output(n.m, `m${i}_out`, float, SHAPES[i]);
    b.output(n.v, `v${i}_out`, float, SHAPES[i]);
  });
  return OrtSession.create(toOnnxBytes(b.build()), { optimization: 'basic', threads: 1 });
}

interface TensorState {
  param: Float64Array;
  m: Float64Array;
  v: Float64Array;
}

/** Run `steps` AdamW steps in the graph and in the reference; returns the worst relative error. */
async function compareAdamW(
  float: Float,
  hp: Omit<AdamWScalars, 'lr' | 'step'>,
  lrs: number[],
  seed: number,
): Promise<{ maxErr: number; graph: TensorState[]; ref: TensorState[] }> {
  const rng = new Rng(seed);
  const randn = (n: number, scale: number) =>
    Float64Array.from({ length: n }, () => (rng.nextFloat() * 2 - 1) * scale);
  const session = await adamwSession(float, hp);
  const Arr = float === 'float64' ? Float64Array : Float32Array;
  const init = SHAPES.map((d) => ({
    param: randn(size(d), 1),
    m: new Float64Array(size(d)),
    v: new Float64Array(size(d)),
  }));
  let graph: TensorState[] = init;
  let ref: TensorState[] = init;
  let maxErr = 0;
  try {
    for (const [k, lr] of lrs.entries()) {
      // Gradients of very different magnitudes, including exact zeros.
      const grads = SHAPES.map((d, i) => {
        const g = randn(size(d), 10 ** (i - 2));
        if (g.length > 2) g[1] = 0;
        return g;
      });
      const feeds: Record<string, ReturnType<typeof tensor>> = {
        lr: tensor(float, Arr.from([lr]), []),
        step: tensor(float, Arr.from([k + 1]), []),
      };
      SHAPES.forEach((d, i) => {
        feeds[`p${i}`] = tensor(float, Arr.from(graph[i].param), d);
        feeds[`g${i}`] = tensor(float, Arr.from(grads[i]), d);
        feeds[`m${i}`] = tensor(float, Arr.from(graph[i].m), d);
        feeds[`v${i}`] = tensor(float, Arr.from(graph[i].v), d);
      });
      const out = await session.run(feeds);
      graph = SHAPES.map((_, i) => ({
        param: Float64Array.from(hostData<Float64Array>(out[`p${i}_out`])),
        m: Float64Array.from(hostData<Float64Array>(out[`m${i}_out`])),
        v: Float64Array.from(hostData<Float64Array>(out[`v${i}_out`])),
      }));
      ref = SHAPES.map((_, i) =>
        referenceAdamWStep({ ...ref[i], grad: grads[i] }, { ...hp, lr, step: k + 1 }),
      );
      // Errors relative to each tensor's scale; for the moments, at least the gradient's scale
      // (m = β1·m + (1 − β1)·g can cancel to far below |g|, and float32 error is relative to |g|).
      const maxAbs = (xs: ArrayLike<number>) =>
        Array.from(xs).reduce((a, x) => Math.max(a, Math.abs(x)), 0);
      for (let i = 0; i < SHAPES.length; i++) {
        const gScale = maxAbs(grads[i]);
        for (const key of ['param', 'm', 'v'] as const) {
          const a = graph[i][key];
          const e = ref[i][key];
          const floor = key === 'm' ? gScale : key === 'v' ? gScale * gScale : 0;
          const scale = Math.max(maxAbs(e), floor, 1e-30);
          for (let j = 0; j < a.length; j++) {
            maxErr = Math.max(maxErr, Math.abs(a[j] - e[j]) / scale);
          }
        }
      }
    }
  } finally {
    await session.release();
  }
  return { maxErr, graph, ref };
}

const HP = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
const LRS = [1e-3, 5e-4, 2e-3, 1e-4, 0, 3e-3, 1e-3, 7e-4];

describe("AdamWSession (the trainer's optimizer step)", () => {
  test('updates parameters and moments in place, matching the float64 reference on scaled gradients', async () => {
    const rng = new Rng(11);
    const n = 1000;
    const randn = (scale: number) =>
      Float64Array.from({ length: n }, () => (rng.nextFloat() * 2 - 1) * scale);
    const session = await AdamWSession.create(HP, { threads: 1 });
    const init = randn(1);
    const state = {
      param: Float32Array.from(init),
      grad: new Float32Array(n),
      m: new Float32Array(n),
      v: new Float32Array(n),
    };
    const buffers = { ...state };
    let ref: { param: Float64Array; m: Float64Array; v: Float64Array } = {
      param: Float64Array.from(state.param),
      m: new Float64Array(n),
      v: new Float64Array(n),
    };
    let worst = 0;
    try {
      for (const [k, lr] of LRS.entries()) {
        const g = randn(0.1);
        state.grad.set(g);
        // The clipping coefficient scales the gradient before AdamW sees it.
        const gradScale = k % 2 ? 0.5 : 1;
        await session.step(state, { gradScale, lr, step: k + 1 });
        const scaled = g.map((x) => Math.fround(x) * gradScale);
        ref = referenceAdamWStep({ ...ref, grad: scaled }, { ...HP, lr, step: k + 1 });
        for (let i = 0; i < n; i++)
          worst = Math.max(worst, Math.abs(state.param[i] - ref.param[i]));
      }
    } finally {
      await session.close();
    }
    assert.ok(worst < 1e-6, `max abs error ${worst}`);
    // In place: the very buffers the caller handed in now hold the update.
    assert.equal(state.param, buffers.param);
    assert.notDeepEqual(Array.from(state.param), Array.from(Float32Array.from(init)));
    assert.ok(state.m.some((x) => x !== 0) && state.v.some((x) => x > 0));
  });
});

// ---- AdamW ----------------------------------------------------------------------------------

describe('AdamW graph', () => {
  test('float64: 8 steps with weight decay and a varying lr equal the reference to 1e-12', async () => {
    const { maxErr } = await compareAdamW('float64', HP, LRS, 1);
    assert.ok(maxErr < 1e-12, `max relative error ${maxErr}`);
  });

  test('float64 without weight decay and with other betas/eps', async () => {
    const { maxErr } = await compareAdamW(
      'float64',
      { beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0 },
      LRS,
      2,
    );
    assert.ok(maxErr < 1e-12, `max relative error ${maxErr}`);
  });

  test('float32 graph follows the float64 reference to 1e-6', async () => {
    const { maxErr } = await compareAdamW('float32', HP, LRS, 3);
    assert.ok(maxErr < 1e-6, `max relative error ${maxErr}`);
  });

  test('first step is p(1 − lr·wd) − lr·g/(|g| + eps) (bias correction cancels)', async () => {
    const session = await adamwSession('float64', HP);
    const lr = 0.01;
    const feeds: Record<string, ReturnType<typeof tensor>> = {
      lr: tensor('float64', Float64Array.from([lr]), []),
      step: tensor('float64', Float64Array.from([1]), []),
    };
    const p = [0.5, -2, 3, 0, 1, 1, 1, 1, 1, 1, 1, 1];
    const g = [1e-3, -4, 0, 2, 1, 1, 1, 1, 1, 1, 1, 1];
    SHAPES.forEach((d, i) => {
      const n = size(d);
      feeds[`p${i}`] = tensor('float64', Float64Array.from(p.slice(0, n)), d);
      feeds[`g${i}`] = tensor('float64', Float64Array.from(g.slice(0, n)), d);
      feeds[`m${i}`] = tensor('float64', new Float64Array(n), d);
      feeds[`v${i}`] = tensor('float64', new Float64Array(n), d);
    });
    const out = await session.run(feeds);
    await session.release();
    const got = hostData<Float64Array>(out.p0_out);
    for (let j = 0; j < 4; j++) {
      const want = p[j] * (1 - lr * HP.weightDecay) - (lr * g[j]) / (Math.abs(g[j]) + HP.eps);
      assert.ok(Math.abs(got[j] - want) < 1e-15, `p[${j}]: ${got[j]} vs ${want}`);
    }
    // m = (1 − β1)·g, v = (1 − β2)·g²
    assert.ok(Math.abs(hostData<Float64Array>(out.m0_out)[1] - 0.1 * -4) < 1e-15);
    assert.ok(Math.abs(hostData<Float64Array>(out.v0_out)[1] - 0.001 * 16) < 1e-15);
  });

  test('invalid hyperparameters are rejected', () => {
    const b = new GraphBuilder('x', 'float64');
    const s = { param: 'p', grad: 'g', m: 'm', v: 'v' };
    const hp = { lr: 'lr', step: 's', ...HP };
    throwsCode(() => buildAdamWUpdate(b, [s], { ...hp, beta1: 1 }), 'E_OPTIM_CONFIG', /beta1/);
    throwsCode(() => buildAdamWUpdate(b, [s], { ...hp, beta2: -0.1 }), 'E_OPTIM_CONFIG', /beta2/);
    throwsCode(() => buildAdamWUpdate(b, [s], { ...hp, eps: -1 }), 'E_OPTIM_CONFIG', /eps/);
    throwsCode(
      () => buildAdamWUpdate(b, [s], { ...hp, weightDecay: NaN }),
      'E_OPTIM_CONFIG',
      /weight_decay/,
    );
  });
});

// ---- clipping -------------------------------------------------------------------------------

async function clipRun(grads: number[][], maxNorm: number) {
  const b = new GraphBuilder('clip', 'float64');
  const ins = grads.map((g, i) => b.input(`g${i}`, 'float64', [g.length]));
  const r = buildClipByGlobalNorm(b, ins, maxNorm);
  // Clipped gradients as the optimizer step forms them: grad · coef.
  ins.forEach((g, i) => b.output(b.mul(g, r.coef), `out${i}`, 'float64', [grads[i].length]));
  b.output(r.norm, 'norm', 'float64', []);
  const s = await OrtSession.create(toOnnxBytes(b.build()), { optimization: 'basic', threads: 1 });
  const out = await s.run(
    Object.fromEntries(
      grads.map((g, i) => [`g${i}`, tensor('float64', Float64Array.from(g), [g.length])]),
    ),
  );
  await s.release();
  return {
    norm: hostData<Float64Array>(out.norm)[0],
    grads: grads.map((_, i) => Array.from(hostData<Float64Array>(out[`out${i}`]))),
  };
}

describe('clip by global norm', () => {
  const grads = [
    [3, 0, -4],
    [12, 0],
  ]; // ‖·‖ = 13

  test('above the threshold: norm 13, gradients scaled by max_norm/(13 + 1e-6)', async () => {
    const got = await clipRun(grads, 1);
    const want = referenceClipByGlobalNorm(grads, 1);
    assert.equal(got.norm, 13);
    assert.equal(want.norm, 13);
    const coef = 1 / (13 + 1e-6);
    got.grads.forEach((g, i) =>
      g.forEach((x, j) => {
        assert.ok(Math.abs(x - grads[i][j] * coef) < 1e-15);
        assert.ok(Math.abs(x - want.grads[i][j]) < 1e-15);
      }),
    );
  });

  test('below the threshold the gradients are unchanged; Infinity only measures', async () => {
    for (const maxNorm of [13.5, 1e9, Infinity]) {
      const got = await clipRun(grads, maxNorm);
      assert.equal(got.norm, 13);
      assert.deepEqual(got.grads, grads);
    }
  });

  test('random gradients match the reference', async () => {
    const rng = new Rng(9);
    const gs = [7, 1, 30].map((n) => Array.from({ length: n }, () => rng.nextFloat() * 2 - 1));
    for (const maxNorm of [0.1, 1, 100]) {
      const got = await clipRun(gs, maxNorm);
      const want = referenceClipByGlobalNorm(gs, maxNorm);
      assert.ok(Math.abs(got.norm - want.norm) < 1e-14 * want.norm);
      got.grads.forEach((g, i) =>
        g.forEach((x, j) => assert.ok(Math.abs(x - want.grads[i][j]) < 1e-15)),
      );
    }
  });

  test('a non-positive max norm is rejected', () => {
    const b = new GraphBuilder('x', 'float64');
    throwsCode(() => buildClipByGlobalNorm(b, ['g'], 0), 'E_OPTIM_CONFIG');
  });
});

// ---- schedules ------------------------------------------------------------------------------

describe('learning-rate schedules (transformers get_scheduler)', () => {
  const base = { learningRate: 1e-3, warmupSteps: 10, totalSteps: 110 };
  const at = (
    schedule: ScheduleOptions['schedule'],
    step: number,
    o: Partial<ScheduleOptions> = {},
  ) => learningRateAt(step, { ...base, schedule, ...o });
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-18, `${a} vs ${b}`);

  test('warmup: linear from 0 (the first update has lr 0)', () => {
    for (const s of ['linear', 'cosine', 'constant_with_warmup'] as const) {
      close(at(s, 0), 0);
      close(at(s, 1), 1e-4);
      close(at(s, 5), 5e-4);
      close(at(s, 10), 1e-3);
    }
  });

  test('linear: decays to 0 at total steps and stays there', () => {
    close(at('linear', 60), 1e-3 * (50 / 100));
    close(at('linear', 85), 1e-3 * 0.25);
    close(at('linear', 110), 0);
    close(at('linear', 120), 0);
    close(at('linear', 0, { warmupSteps: 0 }), 1e-3);
    close(at('linear', 1, { warmupSteps: 0, totalSteps: 4 }), 1e-3 * 0.75);
  });

  test('cosine: half cosine from lr to 0', () => {
    close(at('cosine', 60), 1e-3 * 0.5);
    close(at('cosine', 35), 1e-3 * 0.5 * (1 + Math.cos(Math.PI * 0.25)));
    close(at('cosine', 110), 0);
    close(at('cosine', 0, { warmupSteps: 0 }), 1e-3);
  });

  test('constant ignores warmup (as transformers does); constant_with_warmup holds lr after it', () => {
    for (const s of [0, 3, 10, 500]) close(at('constant', s), 1e-3);
    close(at('constant_with_warmup', 3), 3e-4);
    close(at('constant_with_warmup', 500), 1e-3);
  });

  test('bad options are rejected', () => {
    throwsCode(() => at('linear', -1), 'E_LR_SCHEDULE');
    throwsCode(() => at('linear', 1.5), 'E_LR_SCHEDULE');
    throwsCode(() => at('linear', 0, { totalSteps: 0 }), 'E_LR_SCHEDULE');
    throwsCode(() => at('linear', 0, { warmupSteps: -2 }), 'E_LR_SCHEDULE');
    throwsCode(() => at('linear', 0, { learningRate: -1 }), 'E_LR_SCHEDULE');
    throwsCode(() => at('step' as ScheduleOptions['schedule'], 0), 'E_LR_SCHEDULE', /unknown/);
  });
});
