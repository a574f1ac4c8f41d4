// Reverse-mode autodiff checked against central finite differences in float64: one tiny graph
// per gradient rule (static shapes, and again with every dim symbolic so the runtime-shape paths
// run), then a 2-layer Llama end to end, and its float32 twin under optimisation 'all' with
// several threads.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { backward } from '../../src/engine/autodiff/backward.js';
import { buildPreferenceLoss } from '../../src/engine/train/losses/index.js';
import { GraphBuilder, type V } from '../../src/engine/graph/builder.js';
import type { ElemType, Graph } from '../../src/engine/graph/ir.js';
import { toOnnxBytes } from '../../src/engine/graph/serialize.js';
import { type ModelConfig } from '../../src/engine/model/config.js';
import { modelTensorShapes } from '../../src/engine/model/tensor-layout.js';
import { tokenLogprobsOf } from '../../src/engine/model/inference-graphs.js';
import { llamaForward, type WeightBinder } from '../../src/engine/model/llama-graph.js';
import { testRng, tinyConfig } from '../helpers/tiny-config.js';
import { OrtSession, hostData, tensor, type Tensor } from '../../src/engine/runtime/ort-session.js';
import { throwsCode } from '../helpers/errors.js';

// ---- helpers ------------------------------------------------------------------------------------

const H = 1e-6;
const TOL = 1e-6;
const MAX = Number.MAX_SAFE_INTEGER;

const numel = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

interface InputSpec {
  dims: number[];
  kind?: 'float' | 'int64' | 'bool';
  /** fixed contents (required for int64 and bool inputs) */
  data?: number[];
  /** uniform range of random float contents (default [-1, 1]) */
  range?: [number, number];
  /** float inputs are differentiated unless false */
  diff?: boolean;
}

interface Case {
  name: string;
  inputs: InputSpec[];
  /** the static output shape (the loss weights need it) */
  out: number[];
  build: (b: GraphBuilder, x: V[]) => V;
}

function feedOf(kind: InputSpec['kind'], data: number[], dims: number[], float: ElemType): Tensor {
  if (kind === 'int64')
    return tensor(
      'int64',
      BigInt64Array.from(data, (v) => BigInt(v)),
      dims,
    );
  if (kind === 'bool') return tensor('bool', Uint8Array.from(data), dims);
  return tensor(
    float,
    float === 'float64' ? Float64Array.from(data) : Float32Array.from(data),
    dims,
  );
}

/** The graph with only the nodes before `nodeCount` and the given outputs (the forward pass). */
function prefixGraph(g: Graph, nodeCount: number, outputs: string[]): Graph {
  const nodes = g.nodes.slice(0, nodeCount);
  const used = new Set(nodes.flatMap((n) => n.inputs));
  return {
    ...g,
    nodes,
    initializers: new Map([...g.initializers].filter(([k]) => used.has(k))),
    outputs: g.outputs.filter((o) => outputs.includes(o.name)),
  };
}

async function scalar(s: OrtSession, feeds: Record<string, Tensor>): Promise<number> {
  const out = await s.run(feeds, ['loss']);
  return Number(hostData<Float64Array>(out.loss)[0]);
}

/** |analytic - fd| / max(1, |fd|): relative for large gradients, absolute for tiny ones. */
const errOf = (a: number, fd: number) => Math.abs(a - fd) / Math.max(1, Math.abs(fd));

let maxErrSeen = 0;

async function checkCase(c: Case, symbolic: boolean, seed: number): Promise<number> {
  const r = testRng(seed);
  const b = new GraphBuilder(c.name, 'float64');
  const names = c.inputs.map((_, i) => `x${i}`);
  const dimsOf = (name: string, dims: number[]) =>
    symbolic ? dims.map((_, j) => `${name}_d${j}`) : dims;
  const xs = c.inputs.map((s, i) =>
    b.input(
      names[i],
      s.kind === 'int64' ? 'int64' : s.kind === 'bool' ? 'bool' : 'float64',
      dimsOf(names[i], s.dims),
    ),
  );
  const y = c.build(b, xs);
  const w = b.input('w', 'float64', dimsOf('w', c.out));
  const loss = b.output(b.op1('ReduceSum', [b.mul(y, w)], { keepdims: 0 }), 'loss', 'float64', []);
  const fwdCount = b.nodes.length;

  const data = c.inputs.map((s) => {
    if (s.data) return [...s.data];
    const [lo, hi] = s.range ?? [-1, 1];
    return Array.from({ length: numel(s.dims) }, () => lo + (hi - lo) * r());
  });
  const wData = Array.from({ length: numel(c.out) }, () => r() * 2 - 1);
  const wrtIdx = c.inputs
    .map((s, i) => i)
    .filter((i) => (c.inputs[i].kind ?? 'float') === 'float' && c.inputs[i].diff !== false);

  const grads = backward(
    b,
    loss,
    wrtIdx.map((i) => xs[i]),
  );
  for (const i of wrtIdx)
    b.output(grads.get(xs[i])!, `grad_${i}`, 'float64', dimsOf(`g${i}`, c.inputs[i].dims));
  const g = b.build();
  for (const n of g.nodes.slice(fwdCount, -wrtIdx.length))
    assert.match(n.name, /^\/grad\//, `gradient node ${n.name} outside the /grad scope`);

  const feeds = (d: number[][]): Record<string, Tensor> => {
    const f: Record<string, Tensor> = { w: feedOf('float', wData, c.out, 'float64') };
    c.inputs.forEach((s, i) => (f[names[i]] = feedOf(s.kind, d[i], s.dims, 'float64')));
    return f;
  };
  const full = await OrtSession.create(toOnnxBytes(g), { optimization: 'basic', threads: 1 });
  const fwd = await OrtSession.create(toOnnxBytes(prefixGraph(g, fwdCount, ['loss'])), {
    optimization: 'basic',
    threads: 1,
  });
  let worst = 0;
  try {
    const res = await full.run(feeds(data));
    for (const i of wrtIdx) {
      const an = hostData<Float64Array>(res[`grad_${i}`]);
      assert.deepEqual([...res[`grad_${i}`].dims], c.inputs[i].dims, `${c.name}: grad ${i} shape`);
      for (let k = 0; k < data[i].length; k++) {
        const orig = data[i][k];
        data[i][k] = orig + H;
        const fp = await scalar(fwd, feeds(data));
        data[i][k] = orig - H;
        const fm = await scalar(fwd, feeds(data));
        data[i][k] = orig;
        const fd = (fp - fm) / (2 * H);
        const e = errOf(an[k], fd);
        worst = Math.max(worst, e);
        assert.ok(
          e < TOL,
          `${c.name}${symbolic ? ' (symbolic)' : ''}: d/dx${i}[${k}] analytic ${an[k]} vs fd ${fd} (err ${e})`,
        );
      }
    }
  } finally {
    await full.release();
    await fwd.release();
  }
  maxErrSeen = Math.max(maxErrSeen, worst);
  return worst;
}

const f = (dims: number[], range?: [number, number]): InputSpec => ({ dims, range });
const pos = (dims: number[]): InputSpec => ({ dims, range: [0.5, 2] });
const ints = (dims: number[], data: number[]): InputSpec => ({ dims, kind: 'int64', data });

const unaryCase = (op: string, spec: InputSpec = f([2, 3])): Case => ({
  name: op,
  inputs: [spec],
  out: spec.dims,
  build: (b, [x]) => b.op1(op, [x]),
});

// ---- one case per rule --------------------------------------------------------------------------

const CASES: Case[] = [
  {
    name: 'Add [2,3,4]+[4]',
    inputs: [f([2, 3, 4]), f([4])],
    out: [2, 3, 4],
    build: (b, [x, y]) => b.add(x, y),
  },
  {
    name: 'Add x+x (accumulation)',
    inputs: [f([3, 2])],
    out: [3, 2],
    build: (b, [x]) => b.mul(b.add(x, x), x),
  },
  {
    name: 'Sub [2,1,4]-[3,1]',
    inputs: [f([2, 1, 4]), f([3, 1])],
    out: [2, 3, 4],
    build: (b, [x, y]) => b.sub(x, y),
  },
  {
    name: 'Mul [2,1,4]*[3,1]',
    inputs: [f([2, 1, 4]), f([3, 1])],
    out: [2, 3, 4],
    build: (b, [x, y]) => b.mul(x, y),
  },
  {
    name: 'Mul scalar*[2,3]',
    inputs: [f([]), f([2, 3])],
    out: [2, 3],
    build: (b, [x, y]) => b.mul(x, y),
  },
  {
    name: 'Div [2,3]/[3]',
    inputs: [f([2, 3]), pos([3])],
    out: [2, 3],
    build: (b, [x, y]) => b.div(x, y),
  },
  {
    name: 'Sum of three, broadcast',
    inputs: [f([2, 3]), f([3]), f([2, 1])],
    out: [2, 3],
    build: (b, xs) => b.op1('Sum', xs),
  },
  unaryCase('Neg'),
  unaryCase('Identity'),
  unaryCase('Sqrt', pos([2, 3])),
  unaryCase('Reciprocal', pos([2, 3])),
  unaryCase('Exp'),
  unaryCase('Log', pos([2, 3])),
  unaryCase('Sigmoid', f([2, 3], [-3, 3])),
  unaryCase('Tanh', f([2, 3], [-2, 2])),
  unaryCase('Relu'),
  unaryCase('Softplus', f([2, 3], [-3, 3])),
  unaryCase('Abs'),
  unaryCase('Cos', f([2, 3], [-3, 3])),
  unaryCase('Sin', f([2, 3], [-3, 3])),
  {
    name: 'Pow x^3 (constant exponent)',
    inputs: [f([2, 3])],
    out: [2, 3],
    build: (b, [x]) => b.op1('Pow', [x, b.constF(3)]),
  },
  {
    name: 'Pow x^2 (constant exponent 2: the gradient uses x itself)',
    inputs: [f([2, 3])],
    out: [2, 3],
    build: (b, [x]) => b.pow(x, b.constF(2)),
  },
  {
    name: 'Pow x^p (both inputs, broadcast)',
    inputs: [pos([2, 3]), f([3])],
    out: [2, 3],
    build: (b, [x, p]) => b.op1('Pow', [x, p]),
  },
  {
    name: 'Max [2,3] vs [3]',
    inputs: [f([2, 3]), f([3])],
    out: [2, 3],
    build: (b, [x, y]) => b.op1('Max', [x, y]),
  },
  {
    name: 'Min [2,3] vs [2,1]',
    inputs: [f([2, 3]), f([2, 1])],
    out: [2, 3],
    build: (b, [x, y]) => b.op1('Min', [x, y]),
  },
  {
    name: 'Clip',
    inputs: [f([3, 4])],
    out: [3, 4],
    build: (b, [x]) => b.op1('Clip', [x, b.constF(-0.5), b.constF(0.4)]),
  },
  {
    name: 'Cast float64 -> float64, and a cast to int stops the gradient',
    inputs: [f([2, 3], [-3, 3])],
    out: [2, 3],
    build: (b, [x]) => b.mul(b.cast(x, 'float64'), b.cast(b.cast(x, 'int64'), 'float64')),
  },
  {
    name: 'MatMul [2,3,4]x[4,5]',
    inputs: [f([2, 3, 4]), f([4, 5])],
    out: [2, 3, 5],
    build: (b, [x, y]) => b.matMul(x, y),
  },
  {
    name: 'MatMul [2,3,4]x[5,4]^T (Linear)',
    inputs: [f([2, 3, 4]), f([5, 4])],
    out: [2, 3, 5],
    build: (b, [x, y]) => b.matMul(x, b.transpose(y, [1, 0])),
  },
  {
    name: 'MatMul [2,2,3,4]x[2,1,4,5]',
    inputs: [f([2, 2, 3, 4]), f([2, 1, 4, 5])],
    out: [2, 2, 3, 5],
    build: (b, [x, y]) => b.matMul(x, y),
  },
  {
    name: 'MatMul [3,4]x[2,4,5]',
    inputs: [f([3, 4]), f([2, 4, 5])],
    out: [2, 3, 5],
    build: (b, [x, y]) => b.matMul(x, y),
  },
  {
    name: 'MatMul [3,4]x[4]',
    inputs: [f([3, 4]), f([4])],
    out: [3],
    build: (b, [x, y]) => b.matMul(x, y),
  },
  {
    name: 'MatMul [4]x[2,4,5]',
    inputs: [f([4]), f([2, 4, 5])],
    out: [2, 5],
    build: (b, [x, y]) => b.matMul(x, y),
  },
  {
    name: 'MatMul [4]x[4]',
    inputs: [f([4]), f([4])],
    out: [],
    build: (b, [x, y]) => b.matMul(x, y),
  },
  {
    // a loss, not a rule: the soft-label DPO graph's gradient with respect to the policy log-probs
    // and the per-pair label (losses/sigmoid.ts), end to end against finite differences
    name: 'soft-label DPO loss (sigmoid, per-pair p)',
    inputs: [
      f([4], [-30, -1]),
      f([4], [-30, -1]),
      f([4], [-30, -1]),
      f([4], [-30, -1]),
      f([4], [0.5, 1]),
      { dims: [4], data: [3, 5, 8, 13], diff: false },
    ],
    out: [],
    build: (b, [chosen, rejected, refChosen, refRejected, label, tokens]) =>
      buildPreferenceLoss(
        b,
        ['sigmoid'],
        [1],
        {
          chosen,
          rejected,
          refChosen,
          refRejected,
          label,
          chosenTokens: tokens,
          rejectedTokens: tokens,
        },
        { beta: 0.5, labelSmoothing: 0, simpoGamma: 0, desirableWeight: 1, undesirableWeight: 1 },
      ).loss,
  },
  {
    name: 'Transpose [2,3,4] perm [2,0,1]',
    inputs: [f([2, 3, 4])],
    out: [4, 2, 3],
    build: (b, [x]) => b.transpose(x, [2, 0, 1]),
  },
  {
    name: 'Transpose default perm',
    inputs: [f([2, 3, 4])],
    out: [4, 3, 2],
    build: (b, [x]) => b.op1('Transpose', [x]),
  },
  {
    name: 'Reshape [2,3,4] -> [0,-1]',
    inputs: [f([2, 3, 4])],
    out: [2, 12],
    build: (b, [x]) => b.reshape(x, [0, -1]),
  },
  {
    name: 'Unsqueeze/Squeeze/Flatten',
    inputs: [f([2, 1, 3])],
    out: [2, 3],
    build: (b, [x]) => b.op1('Flatten', [b.unsqueeze(b.squeeze(x, [1]), [-1])], { axis: 1 }),
  },
  {
    name: 'Expand [3,1] -> [2,3,4]',
    inputs: [f([3, 1])],
    out: [2, 3, 4],
    build: (b, [x]) => b.expand(x, b.constI64([2, 3, 4])),
  },
  {
    name: 'Concat axis 1 (three inputs)',
    inputs: [f([2, 1, 3]), f([2, 3, 3]), f([2, 2, 3])],
    out: [2, 6, 3],
    build: (b, xs) => b.concat(xs, 1),
  },
  {
    name: 'Concat axis -1, one input used twice',
    inputs: [f([2, 2]), f([2, 3])],
    out: [2, 7],
    build: (b, [x, y]) => b.concat([x, y, x], -1),
  },
  {
    name: 'Split [2,6] -> [2,2],[2,4], both used',
    inputs: [f([2, 6])],
    out: [2, 4],
    build: (b, [x]) => {
      const [p, q] = b.op('Split', [x, b.constI64([2, 4])], { axis: 1 }, 2);
      return b.mul(b.concat([p, p], 1), q);
    },
  },
  {
    name: 'Split, one output unused',
    inputs: [f([2, 6])],
    out: [2, 3],
    build: (b, [x]) => b.op('Split', [x, b.constI64([3, 3])], { axis: -1 }, 2)[1],
  },
  {
    name: 'Slice [2,5,4] 1:-1 on axis 1',
    inputs: [f([2, 5, 4])],
    out: [2, 3, 4],
    build: (b, [x]) => b.slice(x, [1], [-1], [1]),
  },
  {
    name: 'Slice two axes incl. negative axis, ends past the end',
    inputs: [f([3, 5, 4])],
    out: [2, 5, 2],
    build: (b, [x]) => b.slice(x, [1, 0], [MAX, 2], [0, -1]),
  },
  {
    name: 'Slice negative start to end, default axes',
    inputs: [f([5, 2])],
    out: [3, 2],
    build: (b, [x]) => b.op1('Slice', [x, b.constI64([-3]), b.constI64([MAX])]),
  },
  {
    name: 'Slice with runtime starts/ends (int inputs)',
    inputs: [f([2, 6]), ints([1], [-4]), ints([1], [5])],
    out: [2, 3],
    build: (b, [x, s, e]) => b.op1('Slice', [x, s, e, b.constI64([1])]),
  },
  {
    name: 'Gather axis 0, repeated indices (embedding)',
    inputs: [f([6, 3]), ints([2, 4], [1, 3, 1, 5, 0, 1, 3, 3])],
    out: [2, 4, 3],
    build: (b, [w, i]) => b.gather(w, i, 0),
  },
  {
    name: 'Gather axis 1, repeated and negative indices',
    inputs: [f([2, 5, 3]), ints([4], [4, -1, 0, 2])],
    out: [2, 4, 3],
    build: (b, [w, i]) => b.gather(w, i, 1),
  },
  {
    name: 'Gather scalar index, last axis',
    inputs: [f([2, 3]), ints([], [2])],
    out: [2],
    build: (b, [w, i]) => b.gather(w, i, -1),
  },
  {
    name: 'GatherElements axis 2 (token log-probs)',
    inputs: [f([2, 3, 5]), ints([2, 3, 1], [4, 0, 2, 2, 1, 3])],
    out: [2, 3, 1],
    build: (b, [x, i]) => b.gatherElements(x, i, 2),
  },
  {
    name: 'GatherElements axis -1, repeated indices',
    inputs: [f([2, 4]), ints([2, 3], [1, 1, 3, 0, 0, 0])],
    out: [2, 3],
    build: (b, [x, i]) => b.gatherElements(x, i, -1),
  },
  {
    name: 'ReduceMean axes [-1] keepdims 1',
    inputs: [f([2, 3, 4])],
    out: [2, 3, 1],
    build: (b, [x]) => b.reduceMean(x, [-1], true),
  },
  {
    name: 'ReduceMean axes [0,-1] keepdims 0',
    inputs: [f([2, 3, 4])],
    out: [3],
    build: (b, [x]) => b.reduceMean(x, [0, -1], false),
  },
  {
    name: 'ReduceSum axes [1] keepdims 0',
    inputs: [f([2, 3, 4])],
    out: [2, 4],
    build: (b, [x]) => b.reduceSum(x, [1], false),
  },
  {
    name: 'ReduceSum all axes (no axes input)',
    inputs: [f([2, 3])],
    out: [1, 1],
    build: (b, [x]) => b.op1('ReduceSum', [x]),
  },
  {
    name: 'Softmax axis -1',
    inputs: [f([2, 3, 4], [-2, 2])],
    out: [2, 3, 4],
    build: (b, [x]) => b.softmax(x, -1),
  },
  {
    name: 'Softmax axis 1',
    inputs: [f([2, 3, 4], [-2, 2])],
    out: [2, 3, 4],
    build: (b, [x]) => b.softmax(x, 1),
  },
  {
    name: 'LogSoftmax axis -1',
    inputs: [f([2, 5], [-2, 2])],
    out: [2, 5],
    build: (b, [x]) => b.logSoftmax(x, -1),
  },
  {
    name: 'Where cond [2,1,4], a [2,3,4], b [4]',
    inputs: [
      { dims: [2, 1, 4], kind: 'bool', data: [1, 0, 0, 1, 1, 1, 0, 0] },
      f([2, 3, 4]),
      f([4]),
    ],
    out: [2, 3, 4],
    build: (b, [c, x, y]) => b.where(c, x, y),
  },
  {
    name: 'Where with a constant branch (masked attention scores)',
    inputs: [f([2, 3]), f([2, 3])],
    out: [2, 3],
    build: (b, [x, m]) =>
      b.softmax(b.where(b.op1('Greater', [m, b.constF(0)]), x, b.constF(-1e30)), -1),
  },
  {
    name: 'RMSNorm composite',
    inputs: [f([2, 3, 4]), f([4])],
    out: [2, 3, 4],
    build: (b, [x, w]) => {
      const inv = b.reciprocal(b.sqrt(b.add(b.reduceMean(b.mul(x, x), [-1]), b.constF(1e-6))));
      return b.mul(w, b.mul(x, inv));
    },
  },
];

describe('autodiff rules vs central finite differences (float64)', () => {
  CASES.forEach((c, k) => {
    test(c.name, async () => {
      await checkCase(c, false, 1000 + k);
      await checkCase(c, true, 2000 + k);
    });
  });
});

// ---- structure and errors -----------------------------------------------------------------------

describe('backward() structure', () => {
  test('an op without a rule on the path fails with E_AUTODIFF_NO_RULE naming op and node', () => {
    const b = new GraphBuilder('t', 'float64');
    const x = b.input('x', 'float64', [2]);
    const y = b.scope('act', () => b.op1('HardSigmoid', [x]));
    const loss = b.op1('ReduceSum', [y], { keepdims: 0 });
    throwsCode(
      () => backward(b, loss, [x]),
      'E_AUTODIFF_NO_RULE',
      /HardSigmoid.*\/act\/HardSigmoid/,
    );
  });

  test('ops off the path need no rule; unreachable wrt get zeros; int paths are cut', async () => {
    const b = new GraphBuilder('t', 'float64');
    const x = b.input('x', 'float64', ['n']);
    const z = b.input('z', 'float64', [3]);
    b.op1('HardSigmoid', [x]); // dangling, not on the path to the loss
    const n = b.cast(b.shape(x), 'float64'); // depends on x, but only through Shape
    const loss = b.op1('ReduceSum', [b.mul(b.mul(x, x), n)], { keepdims: 0 });
    const g = backward(b, loss, [x, z]);
    b.output(g.get(x)!, 'gx', 'float64', ['n']);
    b.output(g.get(z)!, 'gz', 'float64', [3]);
    const s = await OrtSession.create(toOnnxBytes(b.build()), { optimization: 'basic' });
    const out = await s.run({
      x: tensor('float64', Float64Array.from([1, 2]), [2]),
      z: tensor('float64', new Float64Array(3), [3]),
    });
    await s.release();
    assert.deepEqual([...hostData<Float64Array>(out.gx)], [4, 8]); // d(n·Σx²) = 2n·x, n = 2
    assert.deepEqual([...hostData<Float64Array>(out.gz)], [0, 0, 0]);
  });

  test('a non-scalar loss without a seed is refused; a seed gradient is honoured', async () => {
    const b = new GraphBuilder('t', 'float64');
    const x = b.input('x', 'float64', [3]);
    const y = b.mul(x, x);
    throwsCode(() => backward(b, y, [x]), 'E_AUTODIFF_LOSS');
    const seed = b.input('seed', 'float64', [3]);
    const g = backward(b, y, [x], { seed });
    b.output(g.get(x)!, 'gx', 'float64', [3]);
    const s = await OrtSession.create(toOnnxBytes(b.build()), { optimization: 'basic' });
    const out = await s.run({
      x: tensor('float64', Float64Array.from([1, 2, 3]), [3]),
      seed: tensor('float64', Float64Array.from([1, 10, 100]), [3]),
    });
    await s.release();
    assert.deepEqual([...hostData<Float64Array>(out.gx)], [2, 40, 600]);
  });

  test('an unknown value is refused', () => {
    const b = new GraphBuilder('t', 'float64');
    const x = b.input('x', 'float64', [3]);
    throwsCode(() => backward(b, 'nope', [x]), 'E_AUTODIFF_VALUE');
  });
});

// ---- end to end: a 2-layer Llama ----------------------------------------------------------------

/** Weights as graph inputs, so that every one of them can be differentiated and perturbed. */
function inputBinder(shapes: Map<string, number[]>, float: 'float32' | 'float64'): WeightBinder {
  return {
    weight(b: GraphBuilder, key: string): V {
      if (!b.inputs.some((i) => i.name === key)) b.input(key, float, shapes.get(key)!);
      return key;
    },
  };
}

function llamaTrainGraph(cfg: ModelConfig, float: 'float32' | 'float64') {
  const shapes = modelTensorShapes(cfg);
  const b = new GraphBuilder('llama_grad', float);
  const ids = b.input('input_ids', 'int64', ['batch', 'seq']);
  const mask = b.input('attention_mask', 'int64', ['batch', 'seq']);
  const lossMask = b.input('loss_mask', float, ['batch', 'seq_minus_1']);
  const positionIds = b.unsqueeze(
    b.range(b.constI64(0), b.squeeze(b.shape(ids, 1, 2), [0]), b.constI64(1)),
    [0],
  );
  const { logits } = llamaForward(b, cfg, inputBinder(shapes, float), {
    inputIds: ids,
    attentionMask: mask,
    positionIds,
  });
  const lp = tokenLogprobsOf(b, logits, ids);
  const loss = b.output(
    b.op1('ReduceSum', [b.mul(lp, lossMask)], { keepdims: 0 }),
    'loss',
    float,
    [],
  );
  const fwdCount = b.nodes.length;
  const keys = [...shapes.keys()];
  const grads = backward(b, loss, keys);
  for (const k of keys) b.output(grads.get(k)!, `grad.${k}`, float, shapes.get(k)!);
  return { graph: b.build(), fwdCount, keys, shapes };
}

interface LlamaData {
  weights: Map<string, Float64Array>;
  batch: Record<string, Tensor>;
}

function llamaData(cfg: ModelConfig, seed: number): LlamaData {
  const r = testRng(seed);
  const weights = new Map<string, Float64Array>();
  for (const [k, dims] of modelTensorShapes(cfg)) {
    const n = numel(dims);
    const isNorm = k.endsWith('norm.weight');
    weights.set(
      k,
      Float64Array.from({ length: n }, () => (isNorm ? 1 + 0.2 * (r() - 0.5) : 0.6 * (r() - 0.5))),
    );
  }
  // Two rows; the second is right-padded. Token 3 repeats so the embedding gradient accumulates.
  const ids = [3, 7, 3, 12, 3, 30, 5, 3, 3, 9, 0, 0];
  const mask = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0];
  const lossMask = [0, 1, 1, 1, 1, 0, 1, 1, 1, 0];
  return {
    weights,
    batch: {
      input_ids: tensor(
        'int64',
        BigInt64Array.from(ids, (v) => BigInt(v)),
        [2, 6],
      ),
      attention_mask: tensor(
        'int64',
        BigInt64Array.from(mask, (v) => BigInt(v)),
        [2, 6],
      ),
      loss_mask: tensor('float64', Float64Array.from(lossMask), [2, 5]),
    },
  };
}

function llamaFeeds(
  d: LlamaData,
  shapes: Map<string, number[]>,
  float: 'float32' | 'float64',
): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = { ...d.batch };
  if (float === 'float32') {
    const lm = d.batch.loss_mask;
    feeds.loss_mask = tensor('float32', Float32Array.from(hostData<Float64Array>(lm)), lm.dims);
  }
  for (const [k, w] of d.weights)
    feeds[k] = tensor(float, float === 'float32' ? Float32Array.from(w) : w, shapes.get(k)!);
  return feeds;
}

async function llamaGradCheck(cfg: ModelConfig, perTensor: number, seed: number) {
  const { graph, fwdCount, keys, shapes } = llamaTrainGraph(cfg, 'float64');
  const d = llamaData(cfg, seed);
  const full = await OrtSession.create(toOnnxBytes(graph), { optimization: 'basic', threads: 1 });
  const fwd = await OrtSession.create(toOnnxBytes(prefixGraph(graph, fwdCount, ['loss'])), {
    optimization: 'basic',
    threads: 1,
  });
  const r = testRng(seed + 1);
  const grads = new Map<string, Float64Array>();
  let worst = 0;
  try {
    const res = await full.run(llamaFeeds(d, shapes, 'float64'));
    for (const k of keys) grads.set(k, hostData<Float64Array>(res[`grad.${k}`]));
    for (const k of keys) {
      const w = d.weights.get(k)!;
      const an = grads.get(k)!;
      assert.ok(
        an.some((v) => v !== 0),
        `${k}: gradient is all zeros`,
      );
      for (let j = 0; j < perTensor; j++) {
        const i = Math.floor(r() * w.length);
        const orig = w[i];
        w[i] = orig + H;
        const fp = await scalar(fwd, llamaFeeds(d, shapes, 'float64'));
        w[i] = orig - H;
        const fm = await scalar(fwd, llamaFeeds(d, shapes, 'float64'));
        w[i] = orig;
        const fd = (fp - fm) / (2 * H);
        const e = errOf(an[i], fd);
        worst = Math.max(worst, e);
        assert.ok(e < TOL, `${k}[${i}]: analytic ${an[i]} vs fd ${fd} (err ${e})`);
      }
    }
  } finally {
    await full.release();
    await fwd.release();
  }
  maxErrSeen = Math.max(maxErrSeen, worst);
  return { grads, data: d };
}

describe('autodiff end to end: 2-layer Llama', () => {
  let reference: { grads: Map<string, Float64Array>; data: LlamaData } | undefined;
  const cfg = tinyConfig();

  test('float64 gradients of every weight match finite differences', async () => {
    reference = await llamaGradCheck(cfg, 5, 7);
  });

  test('tied embeddings + q/k/v biases (Qwen2-style): gradients match finite differences', async () => {
    await llamaGradCheck(
      tinyConfig({ tieWordEmbeddings: true, attentionBias: true, mlpBias: true }),
      3,
      11,
    );
  });

  test('float32 graph, optimization all, 4 threads, matches float64 gradients to 1e-4', async () => {
    assert.ok(reference, 'the float64 test must run first');
    const { graph, keys, shapes } = llamaTrainGraph(cfg, 'float32');
    const s = await OrtSession.create(toOnnxBytes(graph), { optimization: 'all', threads: 4 });
    try {
      const feeds = llamaFeeds(reference.data, shapes, 'float32');
      // Run twice: a threading race would also show up as run-to-run differences.
      for (let rep = 0; rep < 2; rep++) {
        const res = await s.run(feeds);
        for (const k of keys) {
          const g32 = hostData<Float32Array>(res[`grad.${k}`]);
          const g64 = reference.grads.get(k)!;
          let dmax = 0;
          let m = 0;
          for (let i = 0; i < g64.length; i++) {
            dmax = Math.max(dmax, Math.abs(g32[i] - g64[i]));
            m = Math.max(m, Math.abs(g64[i]));
          }
          assert.ok(dmax / m < 1e-4, `${k}: float32 vs float64 relative max diff ${dmax / m}`);
        }
      }
    } finally {
      await s.release();
    }
  });

  test('static shapes keep runtime broadcast logic out of the Llama gradient graph', () => {
    const { graph, fwdCount } = llamaTrainGraph(cfg, 'float64');
    const grad = graph.nodes.slice(fwdCount);
    // Only the loss-mask product mixes dims the inference cannot relate (seq-1 vs seq_minus_1).
    assert.ok(grad.filter((n) => n.opType === 'NonZero').length <= 1);
    assert.equal(grad.filter((n) => n.opType === 'Size').length, 0); // ReduceMean counts are constants
    assert.equal(grad.filter((n) => n.opType === 'ScatterND').length, 0);
  });

  test('report', () => {
    // Visible in the TAP output: the largest finite-difference error of the whole file.
    console.log(`# autodiff: max finite-difference error ${maxErrSeen.toExponential(2)}`);
  });
});

test('an Identity named …/StopGradient blocks the gradient (detach)', async () => {
  const b = new GraphBuilder('detach', 'float64');
  const x = b.input('x', 'float64', [3]);
  const detached = b.op1('Identity', [x], {}, 'StopGradient');
  // loss = Σ x² + Σ detach(x)·x, so d loss/dx = 2x + x = 3x
  const loss = b.add(
    b.reduceSum(b.mul(x, x), [0], false),
    b.reduceSum(b.mul(detached, x), [0], false),
  );
  const g = backward(b, loss, [x]).get(x)!;
  b.output(g, 'g', 'float64', [3]);
  const s = await OrtSession.create(toOnnxBytes(b.build()), { optimization: 'basic' });
  const out = await s.run({ x: tensor('float64', Float64Array.of(1, 2, 3), [3]) });
  assert.deepEqual(Array.from(hostData<Float64Array>(out.g)), [3, 6, 9]);
  await s.release();
});
