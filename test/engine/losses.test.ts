// The DPO loss family: each loss graph (run by onnxruntime) against the float64 JS reference,
// hand-checked values, numerical stability at large margins, the gradient-path op set, and the
// hf-tiny DPO fixture computed by PyTorch.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../src/core/rng.js';
import { GraphBuilder, type V } from '../../src/engine/graph/builder.js';
import type { Graph } from '../../src/engine/graph/ir.js';
import { toOnnxBytes } from '../../src/engine/graph/serialize.js';
import { OrtSession, hostData, tensor } from '../../src/engine/runtime/ort-session.js';
import {
  LOSS_TYPES,
  STOP_GRADIENT_LABEL,
  buildKtoLoss,
  buildPreferenceLoss,
  lossNeedsReference,
  type LossOptions,
  type LossType,
} from '../../src/engine/train/losses/index.js';
import {
  logSigmoidRef,
  referenceKtoLoss,
  referencePreferenceLoss,
  type KtoLogpsArrays,
  type PairLogpsArrays,
} from '../helpers/reference-losses.js';
import { fixture } from '../helpers/fixtures.js';
import { throwsCode } from '../helpers/errors.js';

// ---- helpers ------------------------------------------------------------------------------------

const OPTS: LossOptions = {
  beta: 0.1,
  labelSmoothing: 0,
  simpoGamma: 0.5,
  desirableWeight: 1,
  undesirableWeight: 1,
};

type Float = 'float32' | 'float64';
const PAIR_INPUTS = [
  'chosen',
  'rejected',
  'refChosen',
  'refRejected',
  'chosenTokens',
  'rejectedTokens',
] as const;

/** Graph, session and a runner for one (types, weights, options) configuration. */
async function pairLossRunner(
  types: LossType[],
  weights: number[],
  opts: LossOptions,
  float: Float = 'float64',
  withNll = false,
) {
  const b = new GraphBuilder('loss', float);
  const ins: Record<string, V> = {};
  const names = lossNeedsReference(types)
    ? [...PAIR_INPUTS]
    : PAIR_INPUTS.filter((n) => !n.startsWith('ref'));
  for (const n of names) ins[n] = b.input(n, float, ['P']);
  if (withNll) ins.chosenNll = b.input('chosenNll', float, ['P']);
  const { loss, metrics } = buildPreferenceLoss(
    b,
    types,
    weights,
    {
      chosen: ins.chosen,
      rejected: ins.rejected,
      refChosen: ins.refChosen,
      refRejected: ins.refRejected,
      chosenTokens: ins.chosenTokens,
      rejectedTokens: ins.rejectedTokens,
      chosenNll: ins.chosenNll,
    },
    opts,
  );
  b.output(loss, 'loss', float, []);
  const metricNames = Object.keys(metrics);
  metricNames.forEach((m, i) => b.output(metrics[m], `metric_${i}`, float, []));
  const graph = b.build();
  const session = await OrtSession.create(toOnnxBytes(graph), {
    optimization: 'basic',
    threads: 1,
  });
  const Arr = float === 'float64' ? Float64Array : Float32Array;
  return {
    graph,
    async run(x: PairLogpsArrays) {
      const feeds: Record<string, ReturnType<typeof tensor>> = {};
      for (const n of session.inputNames) {
        const data = x[n as keyof PairLogpsArrays];
        assert.ok(data, `missing input ${n}`);
        feeds[n] = tensor(float, Arr.from(data), [data.length]);
      }
      const out = await session.run(feeds);
      const m: Record<string, number> = {};
      metricNames.forEach((name, i) => (m[name] = hostData<Float64Array>(out[`metric_${i}`])[0]));
      return { loss: hostData<Float64Array>(out.loss)[0], metrics: m };
    },
    release: () => session.release(),
  };
}

function randomPairs(rng: Rng, n: number, marginScale = 20): PairLogpsArrays {
  const u = (lo: number, hi: number) => lo + (hi - lo) * rng.nextFloat();
  const tokC = Array.from({ length: n }, () => Math.floor(u(1, 60)));
  const tokR = Array.from({ length: n }, () => Math.floor(u(1, 60)));
  // Sums of per-token log-probs in (−6, −0.01) so averages are in a realistic, strictly negative range.
  const chosen = tokC.map((t) => t * u(-6, -0.01));
  const rejected = tokR.map((t) => t * u(-6, -0.01));
  const refChosen = chosen.map((c) => c + u(-marginScale, marginScale));
  const refRejected = rejected.map((r) => r + u(-marginScale, marginScale));
  return { chosen, rejected, refChosen, refRejected, chosenTokens: tokC, rejectedTokens: tokR };
}

function assertClose(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Number.isFinite(actual), `${what}: got ${actual}`);
  const err = Math.abs(actual - expected) / Math.max(1, Math.abs(expected));
  assert.ok(err <= tol, `${what}: got ${actual}, expected ${expected} (rel err ${err})`);
}

async function checkAgainstReference(
  types: LossType[],
  weights: number[],
  opts: LossOptions,
  inputs: PairLogpsArrays[],
  tol = 1e-12,
  float: Float = 'float64',
): Promise<void> {
  const r = await pairLossRunner(types, weights, opts, float, inputs[0].chosenNll !== undefined);
  try {
    for (const [k, x] of inputs.entries()) {
      const got = await r.run(x);
      const want = referencePreferenceLoss(types, weights, x, opts);
      const tag = `${types.join('+')} case ${k}`;
      assertClose(got.loss, want.loss, tol, `${tag} loss`);
      assert.deepEqual(Object.keys(got.metrics).sort(), Object.keys(want.metrics).sort());
      for (const m of Object.keys(want.metrics)) {
        assertClose(got.metrics[m], want.metrics[m], tol, `${tag} ${m}`);
      }
    }
  } finally {
    await r.release();
  }
}

const PAIRED: LossType[] = LOSS_TYPES.filter((t) => t !== 'kto');

// ---- graph vs reference -------------------------------------------------------------------------

describe('each paired loss graph equals the float64 reference', () => {
  const rng = new Rng(20240601);
  const inputs = [randomPairs(rng, 8), randomPairs(rng, 5, 2), randomPairs(rng, 1)];
  for (const type of PAIRED) {
    test(type, async () => {
      await checkAgainstReference([type], [], OPTS, inputs);
      await checkAgainstReference([type], [], { ...OPTS, beta: 0.5, labelSmoothing: 0.1 }, inputs);
    });
  }
});

test('combinations with weights are Σ w·loss (RPO = sigmoid + sft, MPO-style triples)', async () => {
  const rng = new Rng(7);
  const inputs = [randomPairs(rng, 6), randomPairs(rng, 3)];
  await checkAgainstReference(['sigmoid', 'sft'], [1, 0.5], OPTS, inputs);
  await checkAgainstReference(['sigmoid', 'apo_zero', 'sft'], [0.8, 0.2, 1], OPTS, inputs);
  await checkAgainstReference(['simpo', 'sft'], [1, 0.1], { ...OPTS, beta: 2 }, inputs);
  await checkAgainstReference(
    ['ipo', 'hinge', 'robust'],
    [],
    { ...OPTS, labelSmoothing: 0.2 },
    inputs,
  );
});

test('sft/orpo use the per-pair NLL input when it is given', async () => {
  const rng = new Rng(11);
  const x = randomPairs(rng, 4);
  x.chosenNll = [1.5, 0.25, 3, 2];
  await checkAgainstReference(['sft'], [], OPTS, [x]);
  await checkAgainstReference(['orpo'], [], OPTS, [x]);
});

test('stable at margins of ±200 and β up to 10: finite, equal to the reference', async () => {
  const n = 6;
  const x: PairLogpsArrays = {
    chosen: [-10, -400, -1e-6, -5, -300, -20],
    rejected: [-210, -200, -250, -205, -100, -20],
    refChosen: [-210, -200, -200, -205, -100, -20],
    refRejected: [-10, -400, -50, -5, -300, -20],
    chosenTokens: [2, 40, 1, 1, 300, 4],
    rejectedTokens: [2, 40, 5, 1, 300, 4],
  };
  assert.equal(x.chosen.length, n);
  // margins: +400, −400, +250, +400, −400, 0; per-token averages from −1e-6 to −250.
  for (const beta of [0.1, 1, 10]) {
    for (const type of PAIRED) {
      await checkAgainstReference([type], [], { ...OPTS, beta, labelSmoothing: 0.05 }, [x], 1e-12);
    }
  }
});

test('float32 graphs match the float64 reference to float32 precision', async () => {
  const rng = new Rng(99);
  const inputs = [randomPairs(rng, 8)];
  for (const type of PAIRED) {
    await checkAgainstReference(
      [type],
      [],
      { ...OPTS, labelSmoothing: 0.1 },
      inputs,
      2e-5,
      'float32',
    );
  }
});

// ---- hand-checked values ------------------------------------------------------------------------

describe('hand-checked values', () => {
  const zeroMargin: PairLogpsArrays = {
    chosen: [-12, -30],
    rejected: [-20, -8],
    refChosen: [-12, -30],
    refRejected: [-20, -8],
    chosenTokens: [4, 10],
    rejectedTokens: [5, 2],
  };
  const cases: [LossType, Partial<LossOptions>, number][] = [
    ['sigmoid', {}, Math.LN2],
    ['sigmoid', { labelSmoothing: 0.3 }, Math.LN2],
    ['robust', { labelSmoothing: 0.1 }, Math.LN2], // (0.9 − 0.1)·log 2 / 0.8
    ['sigmoid_norm', {}, Math.LN2],
    ['hinge', {}, 1],
    ['ipo', { beta: 0.1 }, 25], // (0 − 1/(2·0.1))²
    ['apo_zero', {}, 1], // (1 − ½) + ½
  ];
  for (const [type, o, want] of cases) {
    test(`${type} ${JSON.stringify(o)} at margin 0 is ${want}`, async () => {
      const r = await pairLossRunner([type], [], { ...OPTS, ...o });
      const got = await r.run(zeroMargin);
      await r.release();
      assertClose(got.loss, want, 1e-14, type);
      assert.equal(got.metrics['rewards/margins'], 0);
      assert.equal(got.metrics['rewards/accuracies'], 0);
    });
  }

  test('sigmoid: margin ln 3 / β gives log(4/3); accuracies count strict wins', async () => {
    const r = await pairLossRunner(['sigmoid'], [], OPTS);
    const h = Math.log(3) / OPTS.beta;
    const got = await r.run({
      chosen: [-10, -10],
      rejected: [-10, -10],
      refChosen: [-10 - h, -10],
      refRejected: [-10, -10],
      chosenTokens: [1, 1],
      rejectedTokens: [1, 1],
    });
    await r.release();
    // pair 0: −log σ(ln 3) = log(4/3); pair 1: log 2
    assertClose(got.loss, (Math.log(4 / 3) + Math.LN2) / 2, 1e-14, 'loss');
    assert.equal(got.metrics['rewards/accuracies'], 0.5);
    assertClose(got.metrics['rewards/chosen'], Math.log(3) / 2, 1e-14, 'rewards/chosen');
  });

  test('simpo: equal averages, γ = 0.5 gives log(1 + e^0.5); sft is the token-level mean NLL', async () => {
    const x: PairLogpsArrays = {
      chosen: [-4, -30],
      rejected: [-2, -3],
      chosenTokens: [4, 10],
      rejectedTokens: [2, 1],
    };
    const r = await pairLossRunner(['simpo'], [], OPTS);
    const got = await r.run(x); // averages −1 vs −1 and −3 vs −3
    await r.release();
    assertClose(got.loss, Math.log1p(Math.exp(0.5)), 1e-14, 'simpo');
    assertClose(got.metrics['rewards/chosen'], (0.1 * (-1 + -3)) / 2, 1e-14, 'cpo rewards');
    const s = await pairLossRunner(['sft'], [], OPTS);
    const nll = await s.run(x);
    await s.release();
    assertClose(nll.loss, 34 / 14, 1e-14, 'sft');
  });

  test('orpo: log odds of p = ½ vs p = ¼ is log 3', async () => {
    const x: PairLogpsArrays = {
      chosen: [2 * Math.log(0.5)],
      rejected: [3 * Math.log(0.25)],
      chosenTokens: [2],
      rejectedTokens: [3],
    };
    const r = await pairLossRunner(['orpo'], [], { ...OPTS, orpoLambda: 0.2 });
    const got = await r.run(x);
    await r.release();
    // odds(½) = 1, odds(¼) = ⅓ → log odds ratio = log 3; NLL = −log ½.
    assertClose(got.metrics.log_odds_chosen, Math.log(3), 1e-14, 'log odds');
    assertClose(got.loss, Math.LN2 - 0.2 * Math.log(0.75), 1e-14, 'orpo loss');
  });
});

// ---- KTO ----------------------------------------------------------------------------------------

async function ktoRunner(opts: LossOptions, float: Float = 'float64') {
  const b = new GraphBuilder('kto', float);
  const ins = Object.fromEntries(
    ['policy', 'ref', 'policyKl', 'refKl', 'desirable'].map((n) => [n, b.input(n, float, ['N'])]),
  );
  const { loss, metrics } = buildKtoLoss(
    b,
    {
      policy: ins.policy,
      ref: ins.ref,
      policyKl: ins.policyKl,
      refKl: ins.refKl,
      desirable: ins.desirable,
    },
    opts,
  );
  b.output(loss, 'loss', float, []);
  const names = Object.keys(metrics);
  names.forEach((m, i) => b.output(metrics[m], `metric_${i}`, float, []));
  const graph = b.build();
  const session = await OrtSession.create(toOnnxBytes(graph), {
    optimization: 'basic',
    threads: 1,
  });
  return {
    graph,
    async run(x: KtoLogpsArrays) {
      const feeds = Object.fromEntries(
        Object.entries(x).map(([k, v]) => [k, tensor(float, Float64Array.from(v), [v.length])]),
      );
      const out = await session.run(feeds);
      const m: Record<string, number> = {};
      names.forEach((name, i) => (m[name] = hostData<Float64Array>(out[`metric_${i}`])[0]));
      return { loss: hostData<Float64Array>(out.loss)[0], metrics: m };
    },
    release: () => session.release(),
  };
}

test('kto graph equals the reference (KL clamp at 0, weights, one-sided batches, ±200)', async () => {
  const rng = new Rng(5);
  const u = (lo: number, hi: number) => lo + (hi - lo) * rng.nextFloat();
  const rows = (n: number, klShift: number, desirable: number[]): KtoLogpsArrays => {
    const policy = Array.from({ length: n }, () => u(-200, -5));
    return {
      policy,
      ref: policy.map((p) => p + u(-10, 10)),
      policyKl: policy.map((p) => p + u(-5, 5) + klShift),
      refKl: policy.map((p) => p),
      desirable,
    };
  };
  const cases: KtoLogpsArrays[] = [
    rows(6, 2, [1, 0, 1, 1, 0, 0]), // positive KL estimate
    rows(6, -3, [1, 0, 0, 0, 0, 1]), // negative mean → clamped to 0
    rows(4, 1, [1, 1, 1, 1]), // no undesirable rows
    rows(3, 1, [0, 0, 0]), // no desirable rows
    {
      policy: [-10, -400, -5],
      ref: [-210, -200, -5],
      policyKl: [-1, -2, -3],
      refKl: [-1, -2, -3],
      desirable: [1, 0, 1],
    },
  ];
  for (const opts of [
    { ...OPTS, desirableWeight: 1.33, undesirableWeight: 0.7 },
    { ...OPTS, beta: 5 },
  ]) {
    const r = await ktoRunner(opts);
    for (const [k, x] of cases.entries()) {
      const got = await r.run(x);
      const want = referenceKtoLoss(x, opts);
      assertClose(got.loss, want.loss, 1e-12, `kto case ${k} loss`);
      for (const m of Object.keys(want.metrics)) {
        assertClose(got.metrics[m], want.metrics[m], 1e-12, `kto case ${k} ${m}`);
      }
    }
    await r.release();
  }
  const r = await ktoRunner(OPTS);
  const got = await r.run(cases[1]);
  await r.release();
  assert.equal(got.metrics.kl, 0);
});

// ---- the gradient path uses only differentiable ops ------------------------------------------

const DIFFERENTIABLE = new Set(
  (
    'Add Sub Mul Div Neg Sqrt Reciprocal Exp Log Sigmoid Tanh Relu Softplus Abs Pow MatMul ' +
    'Transpose Reshape Unsqueeze Squeeze Concat Slice Gather GatherElements ReduceMean ReduceSum ' +
    'Softmax LogSoftmax Where Identity Expand Max Min'
  ).split(' '),
);
/** Ops whose outputs carry no gradient (integer/bool results): they end a gradient path. */
const NO_GRAD = new Set(['Shape', 'Greater', 'Equal', 'Less', 'Cast']);

/**
 * Op types of the nodes a reverse pass from `target` would differentiate on its way to `sources`:
 * nodes that depend on a source through gradient-carrying edges and feed the target through them.
 */
function gradientPathOps(graph: Graph, sources: string[], target: string): Set<string> {
  const cuts = (n: Graph['nodes'][number]) =>
    NO_GRAD.has(n.opType) || n.name.endsWith(`/${STOP_GRADIENT_LABEL}`);
  const live = new Set(sources);
  for (const n of graph.nodes) {
    if (!cuts(n) && n.inputs.some((i) => live.has(i))) n.outputs.forEach((o) => live.add(o));
  }
  const needed = new Set([target]);
  const ops = new Set<string>();
  for (const n of [...graph.nodes].reverse()) {
    if (cuts(n) || !n.outputs.some((o) => needed.has(o) && live.has(o))) continue;
    ops.add(n.opType);
    n.inputs.filter((i) => live.has(i)).forEach((i) => needed.add(i));
  }
  return ops;
}

test('every op between the policy log-probs and the loss is differentiable', async () => {
  for (const type of PAIRED) {
    const r = await pairLossRunner([type], [], { ...OPTS, labelSmoothing: 0.1 });
    await r.release();
    const ops = gradientPathOps(r.graph, ['chosen', 'rejected'], 'loss');
    assert.ok(ops.size > 0, `${type}: no gradient path found`);
    for (const op of ops) assert.ok(DIFFERENTIABLE.has(op), `${type}: ${op} on the gradient path`);
  }
  const k = await ktoRunner(OPTS);
  await k.release();
  const ops = gradientPathOps(k.graph, ['policy', 'policyKl'], 'loss');
  for (const op of ops) assert.ok(DIFFERENTIABLE.has(op), `kto: ${op} on the gradient path`);
  // The KL estimate is detached: nothing from policyKl reaches the loss except through StopGradient.
  assert.equal(gradientPathOps(k.graph, ['policyKl'], 'loss').size, 0);
});

// ---- soft labels ---------------------------------------------------------------------------------

test('soft labels: −p·log σ(βh) − (1 − p)·log σ(−βh) per pair; p = 1 − ε everywhere is cDPO', async () => {
  const b = new GraphBuilder('soft', 'float64');
  const names = [...PAIR_INPUTS, 'label'] as const;
  const ins = Object.fromEntries(names.map((n) => [n, b.input(n, 'float64', ['P'])]));
  const { loss } = buildPreferenceLoss(
    b,
    ['sigmoid'],
    [1],
    {
      chosen: ins.chosen,
      rejected: ins.rejected,
      refChosen: ins.refChosen,
      refRejected: ins.refRejected,
      chosenTokens: ins.chosenTokens,
      rejectedTokens: ins.rejectedTokens,
      label: ins.label,
    },
    { ...OPTS, softLabels: true },
  );
  b.output(loss, 'loss', 'float64', []);
  const session = await OrtSession.create(toOnnxBytes(b.build()), {
    optimization: 'basic',
    threads: 1,
  });
  try {
    const run = async (x: PairLogpsArrays, label: number[]) => {
      const feeds: Record<string, ReturnType<typeof tensor>> = {};
      for (const n of names) {
        const data = n === 'label' ? label : x[n];
        feeds[n] = tensor('float64', Float64Array.from(data!), [label.length]);
      }
      return hostData<Float64Array>((await session.run(feeds)).loss)[0];
    };
    const x = randomPairs(new Rng(41), 6);
    const label = [1, 0.9, 0.75, 0.6, 0.5, 0.97];
    // float64 reference, pair by pair
    const h = (i: number) => x.chosen[i] - x.refChosen![i] - (x.rejected[i] - x.refRejected![i]);
    const want =
      label
        .map((p, i) => {
          const z = OPTS.beta * h(i);
          return -p * logSigmoidRef(z) - (1 - p) * logSigmoidRef(-z);
        })
        .reduce((a, v) => a + v, 0) / label.length;
    assertClose(await run(x, label), want, 1e-12, 'soft-label loss');
    // every p = 1 − ε: the scalar cDPO loss of the existing reference
    const eps = 0.2;
    const cdpo = referencePreferenceLoss(['sigmoid'], [1], x, { ...OPTS, labelSmoothing: eps });
    assertClose(
      await run(
        x,
        label.map(() => 1 - eps),
      ),
      cdpo.loss,
      1e-12,
      'p = 1 − ε',
    );
    // p = ½ everywhere: log 2 at margin 0, whatever the margins (the gradient is 0 at h = 0 only)
    const zero = { ...x, refChosen: x.chosen, refRejected: x.rejected };
    assertClose(
      await run(
        zero,
        label.map(() => 0.5),
      ),
      Math.LN2,
      1e-12,
      'p = ½ at h = 0',
    );
  } finally {
    await session.release();
  }
});

test('soft labels train the sigmoid loss only', () => {
  const b = new GraphBuilder('x', 'float64');
  const ins = Object.fromEntries(
    ['c', 'r', 'ct', 'rt', 'p'].map((n) => [n, b.input(n, 'float64', ['P'])]),
  );
  throwsCode(
    () =>
      buildPreferenceLoss(
        b,
        ['simpo'],
        [],
        {
          chosen: ins.c,
          rejected: ins.r,
          chosenTokens: ins.ct,
          rejectedTokens: ins.rt,
          label: ins.p,
        },
        { ...OPTS, softLabels: true },
      ),
    'E_LOSS_CONFIG',
    /soft labels train the sigmoid \(DPO\) loss only/,
  );
});

// ---- configuration errors -----------------------------------------------------------------------

describe('configuration', () => {
  const input = (b: GraphBuilder) => ({
    chosen: b.input('c', 'float64', ['P']),
    rejected: b.input('r', 'float64', ['P']),
    chosenTokens: b.input('ct', 'float64', ['P']),
    rejectedTokens: b.input('rt', 'float64', ['P']),
  });

  test('lossNeedsReference', () => {
    assert.equal(lossNeedsReference(['sigmoid']), true);
    assert.equal(lossNeedsReference(['simpo', 'sft']), false);
    assert.equal(lossNeedsReference(['orpo']), false);
    assert.equal(lossNeedsReference(['sft', 'apo_zero']), true);
    assert.equal(lossNeedsReference(['kto']), true);
  });

  test('a reference-based loss without reference log-probs is a clear error', () => {
    const b = new GraphBuilder('x', 'float64');
    throwsCode(
      () => buildPreferenceLoss(b, ['simpo', 'sigmoid'], [], input(b), OPTS),
      'E_LOSS_REFERENCE',
      /sigmoid/,
    );
  });

  test('bad types, weights and options are rejected', () => {
    const b = new GraphBuilder('x', 'float64');
    const x = input(b);
    throwsCode(() => buildPreferenceLoss(b, [], [], x, OPTS), 'E_LOSS_CONFIG');
    throwsCode(
      () => buildPreferenceLoss(b, ['dpo' as LossType], [], x, OPTS),
      'E_LOSS_CONFIG',
      /unknown loss type "dpo"/,
    );
    throwsCode(() => buildPreferenceLoss(b, ['sft', 'simpo'], [1], x, OPTS), 'E_LOSS_CONFIG');
    throwsCode(() => buildPreferenceLoss(b, ['kto'], [], x, OPTS), 'E_LOSS_CONFIG', /unpaired/);
    throwsCode(
      () => buildPreferenceLoss(b, ['simpo'], [], x, { ...OPTS, beta: 0 }),
      'E_LOSS_CONFIG',
    );
    throwsCode(
      () => buildPreferenceLoss(b, ['simpo'], [], x, { ...OPTS, labelSmoothing: 0.5 }),
      'E_LOSS_CONFIG',
      /label_smoothing/,
    );
  });
});

// ---- the PyTorch fixture ------------------------------------------------------------------------

interface DpoExpected {
  reference_model_logps: { chosen: number[]; rejected: number[] };
  full: {
    beta: number;
    loss: number;
    policy_chosen_logps: number[];
    policy_rejected_logps: number[];
    rewards_chosen: number[];
    rewards_rejected: number[];
  };
  lora: { loss: number; policy_chosen_logps: number[]; policy_rejected_logps: number[] };
}

test('sigmoid β=0.1 reproduces the transformers/TRL DPO fixture loss and rewards', async (t) => {
  const dir = fixture(t, 'hf-tiny', 'dpo', 'tiny-llama');
  if (!dir) return;
  const e = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as DpoExpected;
  const r = await pairLossRunner(['sigmoid'], [], { ...OPTS, beta: e.full.beta });
  try {
    for (const which of ['full', 'lora'] as const) {
      const got = await r.run({
        chosen: e[which].policy_chosen_logps,
        rejected: e[which].policy_rejected_logps,
        refChosen: e.reference_model_logps.chosen,
        refRejected: e.reference_model_logps.rejected,
        chosenTokens: [1, 1],
        rejectedTokens: [1, 1],
      });
      assert.ok(
        Math.abs(got.loss - e[which].loss) < 1e-6,
        `${which}: ${got.loss} vs ${e[which].loss}`,
      );
    }
    const full = await r.run({
      chosen: e.full.policy_chosen_logps,
      rejected: e.full.policy_rejected_logps,
      refChosen: e.reference_model_logps.chosen,
      refRejected: e.reference_model_logps.rejected,
      chosenTokens: [1, 1],
      rejectedTokens: [1, 1],
    });
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const m = full.metrics;
    assert.ok(Math.abs(m['rewards/chosen'] - mean(e.full.rewards_chosen)) < 1e-6);
    assert.ok(Math.abs(m['rewards/rejected'] - mean(e.full.rewards_rejected)) < 1e-6);
    const margins = e.full.rewards_chosen.map((c, i) => c - e.full.rewards_rejected[i]);
    assert.ok(Math.abs(m['rewards/margins'] - mean(margins)) < 1e-6);
    const acc = mean(margins.map((x) => (x > 0 ? 1 : 0)));
    assert.equal(m['rewards/accuracies'], acc);
    // Per-pair rewards, from the JS reference on the same log-probs.
    e.full.rewards_chosen.forEach((rc, i) => {
      const mine =
        e.full.beta * (e.full.policy_chosen_logps[i] - e.reference_model_logps.chosen[i]);
      assert.ok(Math.abs(mine - rc) < 1e-6, `rewards_chosen[${i}]`);
    });
  } finally {
    await r.release();
  }
});
