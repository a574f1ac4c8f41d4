// One gradient rule per ONNX op type, in one table. A rule reads the forward node and the
// gradients of its outputs and appends plain ONNX ops that compute the gradient of each input it
// was asked for. Rules assume float tensors have the builder's float type (their constants come
// from `b.constF`). Every rule returns gradients with exactly its input's shape: binary ops
// reduce over broadcast axes with `ctx.sumTo`, statically when the shapes prove which axes, and
// with Shape/Equal/NonZero/ReduceSum at runtime when they do not (symbolic batch/seq dims).

import { fail } from '../../core/errors.js';
import { onnxTypeCode, type GraphBuilder, type V } from '../graph/builder.js';
import type { ElemType, GraphNode } from '../graph/ir.js';
import { dimDiv, dimProd, type Dim } from './dims.js';
import { BOOL_OUTPUT_OPS, range, type ShapeTable } from './shapes.js';

/** What a rule may ask about the forward graph, plus shape helpers that emit nodes. */
export interface GradContext {
  /** Whether the pass wants input `i`'s gradient (a rule may skip the others). */
  needs(i: number): boolean;
  /** Static dims of a forward value (numbers, canonical symbols, null = unknown). */
  dims(v: V): Dim[] | undefined;
  /** Static rank of a forward value; fails with E_AUTODIFF_RANK when unknown. */
  rank(v: V): number;
  elem(v: V): ElemType | undefined;
  /** Contents of a small constant integer tensor (axes, starts, ...), when fully known. */
  numbers(v: V): number[] | undefined;
  /** Sum `grad` (of static shape `gradDims`) over the axes `x` was broadcast along. */
  sumTo(grad: V, x: V, gradDims: Dim[] | undefined, xDims?: Dim[]): V;
  /** Zeros of `v`'s shape in the graph's float type. */
  zerosLike(v: V): V;
  /** A shape tensor for `v`: a constant when its dims are all known numbers. */
  shapeOf(v: V): V;
}

/**
 * Gradient rule: `grads[k]` is the gradient of `node.outputs[k]` (undefined when no gradient
 * flows into that output; single-output ops always get one). Returns one entry per node input.
 */
export type GradRule = (
  node: GraphNode,
  b: GraphBuilder,
  grads: (V | undefined)[],
  ctx: GradContext,
) => (V | undefined)[];

export interface GradEntry {
  /** Input indices a gradient flows to; the others (indices, shapes, conditions) get none. */
  differentiable: readonly number[] | ((node: GraphNode) => readonly number[]);
  grad: GradRule;
}

/**
 * Ops whose outputs carry no gradient: integer- or bool-valued, or piecewise constant. The pass
 * stops at them instead of failing. Cast to a non-float type is handled by Cast's own entry, and
 * integer inputs of differentiable ops (Gather indices, Reshape shape, Slice starts/ends/axes,
 * Where's condition, ...) by each entry's `differentiable` list.
 */
export const NO_GRADIENT_OPS: ReadonlySet<string> = new Set([
  'Shape',
  'Size',
  'Range',
  ...BOOL_OUTPUT_OPS,
  'ConstantOfShape',
  'Constant',
  'NonZero',
  'ArgMax',
  'ArgMin',
  'Sign',
  'Floor',
  'Ceil',
  'Round',
  'OneHot',
  'EyeLike',
  'RandomNormal',
  'RandomNormalLike',
  'RandomUniform',
  'RandomUniformLike',
  'Multinomial',
  'Bernoulli',
]);

const FLOAT_CODES = new Set([1, 10, 11, 16]);

const g0 = (grads: (V | undefined)[]): V => grads[0]!;
const all = (n: GraphNode): number[] => range(n.inputs.length).filter((i) => n.inputs[i] !== '');
const unary = (f: (b: GraphBuilder, g: V, x: V, y: V) => V): GradEntry => ({
  differentiable: [0],
  grad: (n, b, grads) => [f(b, g0(grads), n.inputs[0], n.outputs[0])],
});

/** Gradient of a value whose shape is x's: Reshape back to x's shape. */
const reshapeBack: GradEntry = {
  differentiable: [0],
  grad: (n, b, grads, ctx) => [b.op1('Reshape', [g0(grads), ctx.shapeOf(n.inputs[0])])],
};

const reduceAxes = (n: GraphNode): V | undefined => (n.inputs[1] ? n.inputs[1] : undefined);

/** Broadcast a reduction's gradient back over the reduced axes. */
function unreduce(n: GraphNode, b: GraphBuilder, g: V, ctx: GradContext): V {
  const [x] = n.inputs;
  const axes = reduceAxes(n);
  const keep = (n.attrs.keepdims ?? 1) === 1;
  if (!axes && n.attrs.noop_with_empty_axes === 1) return g;
  if (axes && n.attrs.noop_with_empty_axes === 1 && !ctx.numbers(axes)?.length)
    fail(
      'E_AUTODIFF_UNSUPPORTED',
      `${n.opType} node ${n.name}: noop_with_empty_axes with axes that may be empty at runtime`,
      'pass constant, non-empty axes',
    );
  const g1 = !keep && axes ? b.op1('Unsqueeze', [g, axes]) : g;
  return b.op1('Expand', [g1, ctx.shapeOf(x)]);
}

/** MatMul's transposed operand: swap the last two axes. */
function swapLast(b: GraphBuilder, v: V, rank: number): V {
  const perm = range(rank);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return b.transpose(v, perm);
}

/** [-1, lastDim(v)] as a shape tensor. */
function rowsShape(b: GraphBuilder, v: V, last: Dim | undefined): V {
  if (typeof last === 'number') return b.constI64([-1, last]);
  return b.concat([b.constI64([-1]), b.shape(v, -1)], 0);
}

function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Max/Min: the gradient goes to the selected input, split evenly on ties. */
function extremum(cmp: 'Greater' | 'Less'): GradEntry {
  return {
    differentiable: all,
    grad: (n, b, grads, ctx) => {
      const g = g0(grads);
      if (n.inputs.length === 1) return [g];
      if (n.inputs.length > 2)
        fail(
          'E_AUTODIFF_UNSUPPORTED',
          `${n.opType} node ${n.name} has ${n.inputs.length} inputs; gradients support 1 or 2`,
          `nest two-input ${n.opType} nodes`,
        );
      const [a, c] = n.inputs;
      const yd = ctx.dims(n.outputs[0]);
      // w = 1 where a wins, 1/2 on ties, 0 where c wins
      const tie = b.where(b.equal(a, c), b.constF(0.5), b.constF(0));
      const w = b.where(b.op1(cmp, [a, c]), b.constF(1), tie);
      const ga = b.mul(g, w);
      return [
        ctx.needs(0) ? ctx.sumTo(ga, a, yd) : undefined,
        ctx.needs(1) ? ctx.sumTo(b.sub(g, ga), c, yd) : undefined,
      ];
    },
  };
}

export const GRAD_RULES: Readonly<Record<string, GradEntry>> = {
  // d(a+b) = g, g (each summed over its broadcast axes)
  Add: {
    differentiable: [0, 1],
    grad: (n, b, grads, ctx) => {
      const yd = ctx.dims(n.outputs[0]);
      return n.inputs.map((x, i) => (ctx.needs(i) ? ctx.sumTo(g0(grads), x, yd) : undefined));
    },
  },
  // d(a-b) = g, -g
  Sub: {
    differentiable: [0, 1],
    grad: (n, b, grads, ctx) => {
      const yd = ctx.dims(n.outputs[0]);
      const [x, z] = n.inputs;
      return [
        ctx.needs(0) ? ctx.sumTo(g0(grads), x, yd) : undefined,
        ctx.needs(1) ? b.neg(ctx.sumTo(g0(grads), z, yd)) : undefined,
      ];
    },
  },
  // d(a·b) = g·b, g·a
  Mul: {
    differentiable: [0, 1],
    grad: (n, b, grads, ctx) => {
      const yd = ctx.dims(n.outputs[0]);
      const [x, z] = n.inputs;
      const g = g0(grads);
      return [
        ctx.needs(0) ? ctx.sumTo(b.mul(g, z), x, yd) : undefined,
        ctx.needs(1) ? ctx.sumTo(b.mul(g, x), z, yd) : undefined,
      ];
    },
  },
  // d(a/b) = g/b, -g·a/b² = -(g/b)·y
  Div: {
    differentiable: [0, 1],
    grad: (n, b, grads, ctx) => {
      const yd = ctx.dims(n.outputs[0]);
      const [x, z] = n.inputs;
      const gOverB = b.div(g0(grads), z);
      return [
        ctx.needs(0) ? ctx.sumTo(gOverB, x, yd) : undefined,
        ctx.needs(1) ? b.neg(ctx.sumTo(b.mul(gOverB, n.outputs[0]), z, yd)) : undefined,
      ];
    },
  },
  // d(Σ xᵢ) = g for each xᵢ
  Sum: {
    differentiable: all,
    grad: (n, b, grads, ctx) => {
      const yd = ctx.dims(n.outputs[0]);
      return n.inputs.map((x, i) => (ctx.needs(i) ? ctx.sumTo(g0(grads), x, yd) : undefined));
    },
  },
  // d(-x) = -g
  Neg: unary((b, g) => b.neg(g)),
  // dy = g
  Identity: unary((_b, g) => g),
  // d√x = g/(2y)
  Sqrt: unary((b, g, _x, y) => b.div(b.mul(g, b.constF(0.5)), y)),
  // d(1/x) = -g·y²
  Reciprocal: unary((b, g, _x, y) => b.neg(b.mul(g, b.mul(y, y)))),
  // d eˣ = g·y
  Exp: unary((b, g, _x, y) => b.mul(g, y)),
  // d ln x = g/x
  Log: unary((b, g, x) => b.div(g, x)),
  // dσ(x) = g·y·(1-y)
  Sigmoid: unary((b, g, _x, y) => b.mul(g, b.mul(y, b.sub(b.constF(1), y)))),
  // d tanh x = g·(1-y²)
  Tanh: unary((b, g, _x, y) => b.mul(g, b.sub(b.constF(1), b.mul(y, y)))),
  // d relu(x) = g·[x>0]
  Relu: unary((b, g, x) => b.where(b.op1('Greater', [x, b.constF(0)]), g, b.constF(0))),
  // d softplus(x) = g·σ(x)
  Softplus: unary((b, g, x) => b.mul(g, b.sigmoid(x))),
  // d|x| = g·sign(x)
  Abs: unary((b, g, x) => b.mul(g, b.op1('Sign', [x]))),
  // d cos x = -g·sin x
  Cos: unary((b, g, x) => b.neg(b.mul(g, b.sin(x)))),
  // d sin x = g·cos x
  Sin: unary((b, g, x) => b.mul(g, b.cos(x))),
  // d xᵖ = g·p·x^(p-1) (base), g·y·ln x (exponent)
  Pow: {
    differentiable: [0, 1],
    grad: (n, b, grads, ctx) => {
      const [x, p] = n.inputs;
      const g = g0(grads);
      const yd = ctx.dims(n.outputs[0]);
      let gx: V | undefined;
      if (ctx.needs(0)) {
        const init = b.initializers.get(p);
        let pf: V;
        let xpm1: V; // x^(p-1)
        if (init && init.data.length === 1 && !(init.data instanceof BigInt64Array)) {
          const pv = Number(init.data[0]);
          pf = b.constF(pv);
          // x² (RMSNorm) is the common case: x¹ is x itself, not a Pow kernel over the
          // activations (onnxruntime's Pow calls pow() per element).
          xpm1 = pv === 2 ? x : b.op1('Pow', [x, b.constF(pv - 1)]);
        } else {
          const e = ctx.elem(p);
          pf = e === 'float32' || e === 'float64' ? p : b.cast(p, b.float);
          xpm1 = b.op1('Pow', [x, b.sub(pf, b.constF(1))]);
        }
        gx = ctx.sumTo(b.mul(b.mul(g, pf), xpm1), x, yd);
      }
      const gp = ctx.needs(1)
        ? ctx.sumTo(b.mul(b.mul(g, n.outputs[0]), b.log(x)), p, yd)
        : undefined;
      return [gx, gp];
    },
  },
  // Max: gradient to the larger input (ties split)
  Max: extremum('Greater'),
  // Min: gradient to the smaller input (ties split)
  Min: extremum('Less'),
  // d clip(x) = g where min ≤ x ≤ max (bounds get no gradient)
  Clip: {
    differentiable: [0],
    grad: (n, b, grads) => {
      const [x, lo, hi] = n.inputs;
      let mask: V | undefined;
      if (lo) mask = b.op1('GreaterOrEqual', [x, lo]);
      if (hi) {
        const m = b.lessOrEqual(x, hi);
        mask = mask ? b.and(mask, m) : m;
      }
      return [mask ? b.where(mask, g0(grads), b.constF(0)) : g0(grads)];
    },
  },
  // d cast(x) = cast(g) back to x's type (casts to integer types have no gradient)
  Cast: {
    differentiable: (n) => (FLOAT_CODES.has(n.attrs.to as number) ? [0] : []),
    grad: (n, b, grads, ctx) => {
      const e = ctx.elem(n.inputs[0]);
      return [
        e
          ? b.op1('Cast', [g0(grads)], { to: onnxTypeCode(e) })
          : b.op1('CastLike', [g0(grads), n.inputs[0]]),
      ];
    },
  },
  // Y = A·B: dA = g·Bᵀ, dB = Aᵀ·g (batch axes summed where A or B was broadcast)
  MatMul: {
    differentiable: [0, 1],
    grad: (n, b, grads, ctx) => {
      const [A, B] = n.inputs;
      const ra = ctx.rank(A);
      const rb = ctx.rank(B);
      const da = ctx.dims(A)!;
      const db = ctx.dims(B)!;
      // Promote 1-D operands as MatMul does: A [K] -> [1, K], B [K] -> [K, 1].
      const a2 = ra === 1 ? b.unsqueeze(A, [0]) : A;
      const b2 = rb === 1 ? b.unsqueeze(B, [1]) : B;
      const da2 = ra === 1 ? [1, da[0]] : da;
      const db2 = rb === 1 ? [db[0], 1] : db;
      const ra2 = da2.length;
      const rb2 = db2.length;
      let g = g0(grads);
      if (ra === 1 && rb === 1) g = b.reshape(g, [1, 1]);
      else if (ra === 1) g = b.unsqueeze(g, [-2]);
      else if (rb === 1) g = b.unsqueeze(g, [-1]);
      const yd = ctx.dims(n.outputs[0]);
      // Y's leading axes are the broadcast batch axes of the promoted operands.
      const batchY = yd?.slice(0, Math.max(ra2, rb2) - 2);
      // The last two axes of each product match its operand by construction: mark them equal.
      const tail = ['§0', '§1'];

      let gA: V | undefined;
      if (ctx.needs(0)) {
        const prod = b.matMul(g, rb2 === 2 ? b.transpose(b2, [1, 0]) : swapLast(b, b2, rb2));
        // With a 2-D B, the product already has A's batch axes.
        gA =
          rb2 === 2
            ? prod
            : ctx.sumTo(prod, a2, batchY && [...batchY, ...tail], [...da2.slice(0, -2), ...tail]);
        if (ra === 1) gA = b.op1('Reshape', [gA, ctx.shapeOf(A)]);
      }
      let gB: V | undefined;
      if (ctx.needs(1)) {
        if (rb2 === 2 && ra2 > 2) {
          // Weight gradient of x[..., K]·W[K, N]: fold all batch axes into one GEMM.
          const a3 = b.op1('Reshape', [a2, rowsShape(b, a2, da2[ra2 - 1])]);
          const g3 = b.op1('Reshape', [g, rowsShape(b, g, db2[1])]);
          gB = b.matMul(b.transpose(a3, [1, 0]), g3);
        } else if (rb2 === 2) {
          gB = b.matMul(b.transpose(a2, [1, 0]), g);
        } else {
          const prod = b.matMul(ra2 === 2 ? b.transpose(a2, [1, 0]) : swapLast(b, a2, ra2), g);
          gB = ctx.sumTo(prod, b2, batchY && [...batchY, ...tail], [...db2.slice(0, -2), ...tail]);
        }
        if (rb === 1) gB = b.op1('Reshape', [gB, ctx.shapeOf(B)]);
      }
      return [gA, gB];
    },
  },
  // d transpose(x, p) = transpose(g, p⁻¹)
  Transpose: {
    differentiable: [0],
    grad: (n, b, grads) => {
      const perm = n.attrs.perm as number[] | undefined;
      if (!perm) return [b.op1('Transpose', [g0(grads)])]; // default reversal is its own inverse
      const inv = new Array<number>(perm.length);
      perm.forEach((p, i) => (inv[p] = i));
      return [b.transpose(g0(grads), inv)];
    },
  },
  // Shape-only ops: reshape g back to x's shape
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  // d expand(x) = g summed over the expanded axes
  Expand: {
    differentiable: [0],
    grad: (n, _b, grads, ctx) => [ctx.sumTo(g0(grads), n.inputs[0], ctx.dims(n.outputs[0]))],
  },
  // d concat(xᵢ) = the matching pieces of g (Split by the inputs' sizes along the axis)
  Concat: {
    differentiable: all,
    grad: (n, b, grads, ctx) => {
      if (n.inputs.length === 1) return [g0(grads)];
      const r = ctx.rank(n.inputs[0]);
      const ax = normAxis(n.attrs.axis as number, r);
      const sizes = n.inputs.map((x) => ctx.dims(x)?.[ax]);
      const split = sizes.every((s) => typeof s === 'number')
        ? b.constI64(sizes as number[])
        : b.concat(
            n.inputs.map((x) => b.shape(x, ax, ax + 1)),
            0,
          );
      return b.op('Split', [g0(grads), split], { axis: ax }, n.inputs.length);
    },
  },
  // d split(x) = concat(gᵢ), zeros for outputs without gradient
  Split: {
    differentiable: [0],
    grad: (n, b, grads, ctx) => {
      const r = ctx.rank(n.inputs[0]);
      const ax = normAxis((n.attrs.axis as number | undefined) ?? 0, r);
      const parts = n.outputs.map((o, i) => grads[i] ?? ctx.zerosLike(o));
      return [b.concat(parts, ax)];
    },
  },
  // d x[s:e] = g padded with zeros back to x's shape (step 1)
  Slice: {
    differentiable: [0],
    grad: (n, b, grads, ctx) => [sliceGrad(n, b, g0(grads), ctx)],
  },
  // d gather(W, idx)[…] = scatter-add of g rows into zeros like W (repeated indices accumulate)
  Gather: {
    differentiable: [0],
    grad: (n, b, grads, ctx) => [gatherGrad(n, b, g0(grads), ctx)],
  },
  // d gatherElements(x, idx) = scatterElements-add(zeros, idx, g)
  GatherElements: {
    differentiable: [0],
    grad: (n, b, grads, ctx) => {
      const [x, idx] = n.inputs;
      const attrs = { axis: (n.attrs.axis as number | undefined) ?? 0, reduction: 'add' };
      return [b.op1('ScatterElements', [ctx.zerosLike(x), idx, g0(grads)], attrs)];
    },
  },
  // d Σ_axes x = g broadcast back over the reduced axes
  ReduceSum: {
    differentiable: [0],
    grad: (n, b, grads, ctx) => [unreduce(n, b, g0(grads), ctx)],
  },
  // d mean_axes x = g/count broadcast back over the reduced axes
  ReduceMean: {
    differentiable: [0],
    grad: (n, b, grads, ctx) => {
      const [x] = n.inputs;
      const y = n.outputs[0];
      const dx = ctx.dims(x);
      const dy = ctx.dims(y);
      // count = |x| / |y|, static whenever the symbolic dims cancel ([B,S,H] / [B,S,1] = H)
      const count = dx && dy ? dimDiv(dimProd(dx), dimProd(dy)) : null;
      let scale: V;
      if (typeof count === 'number' && count > 0) scale = b.constF(1 / count);
      else {
        const size = (v: V) => b.cast(b.op1('Size', [v]), b.float);
        scale = b.div(size(y), size(x));
      }
      return [unreduce(n, b, b.mul(g0(grads), scale), ctx)];
    },
  },
  // d softmax(x) = y·(g - Σ g·y) along the axis
  Softmax: {
    differentiable: [0],
    grad: (n, b, grads) => {
      const y = n.outputs[0];
      const ax = (n.attrs.axis as number | undefined) ?? -1;
      const g = g0(grads);
      return [b.mul(y, b.sub(g, b.reduceSum(b.mul(g, y), [ax], true)))];
    },
  },
  // d logsoftmax(x) = g - softmax(x)·Σ g along the axis
  LogSoftmax: {
    differentiable: [0],
    grad: (n, b, grads) => {
      const y = n.outputs[0];
      const ax = (n.attrs.axis as number | undefined) ?? -1;
      const g = g0(grads);
      return [b.sub(g, b.mul(b.exp(y), b.reduceSum(g, [ax], true)))];
    },
  },
  // d where(c, a, b) = g where c (to a), g where not c (to b); zeros elsewhere
  Where: {
    differentiable: [1, 2],
    grad: (n, b, grads, ctx) => {
      const [c, x, z] = n.inputs;
      const g = g0(grads);
      const yd = ctx.dims(n.outputs[0]);
      const zero = b.constF(0);
      return [
        undefined,
        ctx.needs(1) ? ctx.sumTo(b.where(c, g, zero), x, yd) : undefined,
        ctx.needs(2) ? ctx.sumTo(b.where(c, zero, g), z, yd) : undefined,
      ];
    },
  },
};

/** Slice gradient: Pad g with the elements the slice dropped (zeros); steps must be 1. */
function sliceGrad(n: GraphNode, b: GraphBuilder, g: V, ctx: GradContext): V {
  const [x, startsV, endsV, axesV, stepsV] = n.inputs;
  const steps = stepsV ? ctx.numbers(stepsV) : undefined;
  if (stepsV && !steps?.every((s) => s === 1))
    fail(
      'E_AUTODIFF_UNSUPPORTED',
      `Slice node ${n.name}: gradients support step 1 only`,
      'slice with step 1 (reshape/transpose for strided access)',
    );
  const r = ctx.rank(x);
  const dx = ctx.dims(x)!;
  let axes = axesV ? ctx.numbers(axesV) : undefined;
  if (!axes) {
    const len = ctx.dims(startsV)?.[0];
    if (axesV || typeof len !== 'number')
      fail(
        'E_AUTODIFF_UNSUPPORTED',
        `Slice node ${n.name}: gradients need constant axes`,
        'pass the axes as a constant',
      );
    axes = range(len as number);
  }
  axes = axes.map((a) => normAxis(a, r));
  const starts = ctx.numbers(startsV);
  const ends = ctx.numbers(endsV);
  const zero = b.constF(0);

  const staticDims = axes.map((a) => dx[a]);
  if (starts && ends && staticDims.every((d) => typeof d === 'number')) {
    const before = new Array<number>(r).fill(0);
    const after = new Array<number>(r).fill(0);
    axes.forEach((a, k) => {
      const d = staticDims[k] as number;
      const s = clampI(starts[k], d);
      const e = Math.max(s, clampI(ends[k], d));
      before[a] = s;
      after[a] = d - e;
    });
    if ([...before, ...after].every((p) => p === 0)) return g;
    return b.op1('Pad', [g, b.constI64([...before, ...after]), zero]);
  }

  // Runtime: normalise starts/ends as ONNX does (negative = from the end, clamp to [0, d]).
  const axesC = b.constI64(axes);
  const i64 = (v: V) => (ctx.elem(v) === 'int32' ? b.cast(v, 'int64') : v);
  const dims = b.gather(b.shape(x), axesC); // [k]
  const izero = b.constI64(0);
  const norm = (v: V) => {
    const w = b.where(b.op1('Less', [v, izero]), b.add(v, dims), v);
    return b.op1('Max', [b.op1('Min', [w, dims]), izero]);
  };
  const s = norm(i64(startsV));
  const e = b.op1('Max', [norm(i64(endsV)), s]);
  // Full-rank pads: onnxruntime's transpose optimizer mishandles Pad's `axes` input (1.30).
  const full = (v: V) =>
    b.op1('ScatterElements', [b.constI64(new Array<number>(r).fill(0)), axesC, v], { axis: 0 });
  const pads = b.concat([full(s), full(b.sub(dims, e))], 0);
  return b.op1('Pad', [g, pads, zero]);
}

function clampI(i: number, d: number): number {
  return Math.min(d, Math.max(0, i < 0 ? i + d : i));
}

/**
 * Gather gradient as ScatterElements(reduction=add) over [pre, D, post] views, which handles any
 * axis and repeated indices. ScatterND(add) would be shorter but races with >1 intra-op thread.
 */
function gatherGrad(n: GraphNode, b: GraphBuilder, g: V, ctx: GradContext): V {
  const [data, idx] = n.inputs;
  const r = ctx.rank(data);
  const ax = normAxis((n.attrs.axis as number | undefined) ?? 0, r);
  const dd = ctx.dims(data)!;
  const prodOf = (ds: Dim[], from: number, to: number): V => {
    const part = ds.slice(from, to);
    if (part.every((d) => typeof d === 'number'))
      return b.constI64([(part as number[]).reduce((p, d) => p * d, 1)]);
    return b.op1('ReduceProd', [b.shape(data, from, to)], { keepdims: 1 });
  };
  const pre = prodOf(dd, 0, ax);
  const post = prodOf(dd, ax + 1, r);
  const axisLen =
    typeof dd[ax] === 'number' ? b.constI64([dd[ax] as number]) : b.shape(data, ax, ax + 1);
  const g3 = b.op1('Reshape', [g, b.concat([pre, b.constI64([-1]), post], 0)]);
  const idx3 = b.expand(b.reshape(idx, [1, -1, 1]), b.shape(g3));
  const zeros = b.expand(b.constF(0), b.concat([pre, axisLen, post], 0));
  const out = b.op1('ScatterElements', [zeros, idx3, g3], { axis: 1, reduction: 'add' });
  return b.op1('Reshape', [out, ctx.shapeOf(data)]);
}

/** The GradContext of one node, over the forward graph's static shapes. */
export class NodeGradContext implements GradContext {
  constructor(
    private readonly b: GraphBuilder,
    private readonly shapes: ShapeTable,
    private readonly node: GraphNode,
    private readonly wanted: readonly boolean[],
  ) {}

  needs(i: number): boolean {
    return this.wanted[i] ?? false;
  }
  dims(v: V): Dim[] | undefined {
    return this.shapes.dims(v);
  }
  elem(v: V): ElemType | undefined {
    return this.shapes.get(v).elem;
  }
  numbers(v: V): number[] | undefined {
    return this.shapes.numbers(v);
  }
  rank(v: V): number {
    const d = this.shapes.dims(v);
    if (d) return d.length;
    return fail(
      'E_AUTODIFF_RANK',
      `${this.node.opType} node ${this.node.name}: the rank of ${v} is unknown, and its gradient needs it`,
      'give the graph inputs static ranks (symbolic dims are fine), or report the op that loses the rank',
    );
  }

  shapeOf(v: V): V {
    const d = this.shapes.dims(v);
    if (d && d.every((x) => typeof x === 'number')) return this.b.constI64(d as number[]);
    return this.b.shape(v);
  }

  zerosLike(v: V): V {
    return this.b.expand(this.b.constF(0), this.shapeOf(v));
  }

  sumTo(grad: V, x: V, gradDims: Dim[] | undefined, xDims = this.shapes.dims(x)): V {
    const b = this.b;
    const rx = xDims?.length ?? this.rank(x);
    if (!gradDims)
      fail(
        'E_AUTODIFF_RANK',
        `${this.node.opType} node ${this.node.name}: the rank of its output is unknown, and broadcasting gradients need it`,
        'give the graph inputs static ranks (symbolic dims are fine)',
      );
    const lead = gradDims.length - rx;
    if (lead < 0)
      fail(
        'E_AUTODIFF_INTERNAL',
        `${this.node.opType} node ${this.node.name}: gradient of rank ${gradDims.length} for an input of rank ${rx}`,
      );
    const leadAxes = range(lead);
    if (xDims) {
      const keep: number[] = [];
      let known = true;
      xDims.forEach((d, i) => {
        const gd = gradDims[lead + i];
        if (d === 1) {
          if (gd !== 1) keep.push(lead + i);
        } else if (typeof d === 'number') {
          // a numeric dim > 1 is never broadcast
        } else if (d === null || gd !== d) known = false;
      });
      if (known) {
        if (keep.length === 0 && lead === 0) return grad;
        if (keep.length === 0)
          return b.op1('ReduceSum', [grad, b.constI64(leadAxes)], { keepdims: 0 });
        const r = b.op1('ReduceSum', [grad, b.constI64([...leadAxes, ...keep])], { keepdims: 1 });
        return lead ? b.squeeze(r, leadAxes) : r;
      }
    }
    // Runtime: sum over the axes where x has size 1 (a no-op where the gradient has size 1 too).
    const g1 = lead ? b.op1('ReduceSum', [grad, b.constI64(leadAxes)], { keepdims: 0 }) : grad;
    const ones = b.equal(b.shape(x), b.constI64(1));
    const axes = b.reshape(b.op1('NonZero', [ones]), [-1]);
    return b.op1('ReduceSum', [g1, axes], { keepdims: 1, noop_with_empty_axes: 1 });
  }
}
