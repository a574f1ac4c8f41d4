// Static shape, element-type and small-constant inference over a GraphBuilder's nodes, used by
// the gradient rules to skip runtime shape logic when a broadcast or reduction is provably
// unnecessary, and to know ranks (Transpose perms, MatMul batch axes need them).
// Dims are numbers, symbolic monomials or unknown: see dims.ts.

import type { GraphBuilder, V } from '../graph/builder.js';
import type { ElemType, GraphNode } from '../graph/ir.js';
import { atom, broadcastDims, dimDiv, dimMul, dimProd, type Dim } from './dims.js';

export interface TensorInfo {
  elem?: ElemType;
  /** undefined = rank unknown */
  dims?: Dim[];
  /** Flattened contents of a small integer tensor (shape arithmetic), when known. */
  value?: Dim[];
}

const BIG = 2 ** 31; // slice ends at or above this mean "to the end"
const MAX_VALUE_LEN = 64;

// ---- the table ----------------------------------------------------------------------------------

const ONNX_TYPES: Record<number, ElemType> = {
  1: 'float32',
  2: 'uint8',
  6: 'int32',
  7: 'int64',
  9: 'bool',
  11: 'float64',
};

const SAME_SHAPE = new Set([
  'Neg',
  'Sqrt',
  'Reciprocal',
  'Exp',
  'Log',
  'Sigmoid',
  'Tanh',
  'Relu',
  'Softplus',
  'Abs',
  'Cos',
  'Sin',
  'Erf',
  'Sign',
  'Floor',
  'Ceil',
  'Round',
  'Identity',
  'Softmax',
  'LogSoftmax',
  'Clip',
  'Not',
  'IsNaN',
  'IsInf',
  'CastLike',
  'Dropout',
  'LeakyRelu',
  'Elu',
  'HardSigmoid',
  'Trilu',
]);
/** Elementwise comparisons and logic: they broadcast and output bool. */
const COMPARE_LOGIC_OPS = [
  'Equal',
  'Less',
  'LessOrEqual',
  'Greater',
  'GreaterOrEqual',
  'And',
  'Or',
  'Xor',
];
/** Every op whose output is bool (the gradient rules stop at them: rules.ts NO_GRADIENT_OPS). */
export const BOOL_OUTPUT_OPS: readonly string[] = [...COMPARE_LOGIC_OPS, 'Not', 'IsNaN', 'IsInf'];
const BROADCAST = new Set([
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Pow',
  'Max',
  'Min',
  'Sum',
  'Mean',
  'Mod',
  ...COMPARE_LOGIC_OPS,
  'Where',
  'PRelu',
]);
const BOOL_OUT = new Set(BOOL_OUTPUT_OPS);
const REDUCE = new Set([
  'ReduceSum',
  'ReduceMean',
  'ReduceMax',
  'ReduceMin',
  'ReduceProd',
  'ReduceL1',
  'ReduceL2',
  'ReduceLogSumExp',
  'ReduceSumSquare',
  'ArgMax',
  'ArgMin',
]);

export class ShapeTable {
  private readonly info = new Map<V, TensorInfo>();

  constructor(b: GraphBuilder) {
    for (const i of b.inputs) {
      this.info.set(i.name, {
        elem: i.elemType,
        dims: i.dims.map((d) => (typeof d === 'number' ? d : atom(d))),
      });
    }
    for (const init of b.initializers.values()) {
      const t: TensorInfo = { elem: init.elemType, dims: [...init.dims] };
      if (
        (init.elemType === 'int64' || init.elemType === 'int32') &&
        init.data.length <= MAX_VALUE_LEN
      )
        t.value = Array.from(init.data as ArrayLike<number | bigint>, (x) => Number(x));
      this.info.set(init.name, t);
    }
    for (const n of b.nodes) {
      let outs: TensorInfo[];
      try {
        outs = this.infer(n);
      } catch {
        outs = []; // a malformed node is ORT's to report; we only lose static knowledge
      }
      n.outputs.forEach((o, i) => this.info.set(o, outs[i] ?? {}));
    }
  }

  has(v: V): boolean {
    return this.info.has(v);
  }
  /** Record that `v` (a recomputed copy) has what is known of `original`. */
  alias(v: V, original: V): void {
    this.info.set(v, this.get(original));
  }
  get(v: V): TensorInfo {
    return this.info.get(v) ?? {};
  }
  dims(v: V): Dim[] | undefined {
    return this.get(v).dims;
  }
  value(v: V): Dim[] | undefined {
    return this.get(v).value;
  }
  /** Numeric contents of a small constant-like integer tensor, when fully known. */
  numbers(v: V): number[] | undefined {
    const val = this.get(v).value;
    return val && val.every((d) => typeof d === 'number') ? (val as number[]) : undefined;
  }

  private infer(n: GraphNode): TensorInfo[] {
    const op = n.opType;
    const ins = n.inputs.map((v) => (v === '' ? undefined : this.get(v)));
    const x = ins[0] ?? {};
    const elem = BOOL_OUT.has(op) ? 'bool' : x.elem;

    if (SAME_SHAPE.has(op)) return [{ elem, dims: x.dims }];
    if (BROADCAST.has(op)) return [inferBroadcast(op, ins, elem)];
    if (REDUCE.has(op)) return [this.inferReduce(n, x, elem)];
    return this.inferShapeOp(n, ins, x, elem) ?? this.inferDataOp(n, ins, x, elem);
  }

  /** Reductions and Arg*: the reduced axes go (or stay as 1 with keepdims). */
  private inferReduce(n: GraphNode, x: TensorInfo, elem: ElemType | undefined): TensorInfo {
    const op = n.opType;
    const a = n.attrs;
    const r = x.dims?.length;
    const keep = (a.keepdims ?? 1) === 1;
    const outElem = op.startsWith('Arg') ? 'int64' : elem;
    let axes: number[] | undefined;
    if (op.startsWith('Arg')) axes = [(a.axis as number | undefined) ?? 0];
    else if (n.inputs[1]) axes = this.numbers(n.inputs[1]);
    else axes = a.noop_with_empty_axes === 1 ? [] : r === undefined ? undefined : range(r);
    if (r === undefined || axes === undefined) return { elem: outElem };
    const set = new Set(axes.map((ax) => (ax < 0 ? ax + r : ax)));
    const dims: Dim[] = [];
    x.dims!.forEach((d, i) => {
      if (!set.has(i)) dims.push(d);
      else if (keep) dims.push(1);
    });
    return { elem: outElem, dims };
  }

  /** Ops that change or report shapes: casts, Shape/Size, MatMul, and the reshaping family. */
  private inferShapeOp(
    n: GraphNode,
    ins: (TensorInfo | undefined)[],
    x: TensorInfo,
    elem: ElemType | undefined,
  ): TensorInfo[] | undefined {
    const a = n.attrs;
    switch (n.opType) {
      case 'Cast': {
        const to = ONNX_TYPES[a.to as number];
        return [{ elem: to, dims: x.dims, value: to === 'int64' ? x.value : undefined }];
      }
      case 'Shape': {
        if (!x.dims) return [{ elem: 'int64', dims: [null] }];
        const r = x.dims.length;
        const s = clampAxis((a.start as number | undefined) ?? 0, r);
        const e = clampAxis((a.end as number | undefined) ?? r, r);
        const value = x.dims.slice(s, Math.max(s, e));
        return [{ elem: 'int64', dims: [value.length], value }];
      }
      case 'Size': {
        const v = x.dims ? dimProd(x.dims) : null;
        return [{ elem: 'int64', dims: [], value: [v] }];
      }
      case 'MatMul': {
        const A = x.dims;
        const B = ins[1]?.dims;
        if (!A || !B) return [{ elem }];
        const a2 = A.length === 1 ? [1, A[0]] : A;
        const b2 = B.length === 1 ? [B[0], 1] : B;
        const batch = broadcastDims([a2.slice(0, -2), b2.slice(0, -2)])!;
        const dims = [...batch];
        if (A.length > 1) dims.push(a2[a2.length - 2]);
        if (B.length > 1) dims.push(b2[b2.length - 1]);
        return [{ elem, dims }];
      }
      case 'Transpose': {
        if (!x.dims) return [{ elem }];
        const perm = (a.perm as number[] | undefined) ?? range(x.dims.length).reverse();
        return [{ elem, dims: perm.map((p) => x.dims![p]) }];
      }
      case 'Reshape':
        return [this.inferReshape(n, x, elem)];
      case 'Flatten': {
        if (!x.dims) return [{ elem, dims: [null, null] }];
        const ax = clampAxis((a.axis as number | undefined) ?? 1, x.dims.length);
        return [{ elem, dims: [dimProd(x.dims.slice(0, ax)), dimProd(x.dims.slice(ax))] }];
      }
      case 'Unsqueeze': {
        const axes = this.numbers(n.inputs[1]);
        if (!x.dims || !axes) return [{ elem }];
        const r = x.dims.length + axes.length;
        const set = new Set(axes.map((ax) => (ax < 0 ? ax + r : ax)));
        const dims: Dim[] = [];
        let j = 0;
        for (let i = 0; i < r; i++) dims.push(set.has(i) ? 1 : x.dims[j++]);
        return [{ elem, dims, value: x.value }];
      }
      case 'Squeeze': {
        if (!x.dims) return [{ elem }];
        const r = x.dims.length;
        const axes = n.inputs[1] ? this.numbers(n.inputs[1]) : undefined;
        if (!axes) {
          if (n.inputs[1] || x.dims.some((d) => typeof d !== 'number')) return [{ elem }];
          return [{ elem, dims: x.dims.filter((d) => d !== 1), value: x.value }];
        }
        const set = new Set(axes.map((ax) => (ax < 0 ? ax + r : ax)));
        return [{ elem, dims: x.dims.filter((_, i) => !set.has(i)), value: x.value }];
      }
      default:
        return undefined;
    }
  }

  /** Ops that move data: concatenation, indexing, scatter, expansion, ranges, splits, padding. */
  private inferDataOp(
    n: GraphNode,
    ins: (TensorInfo | undefined)[],
    x: TensorInfo,
    elem: ElemType | undefined,
  ): TensorInfo[] {
    const a = n.attrs;
    switch (n.opType) {
      case 'Concat':
        return [inferConcat(ins, a.axis as number, elem)];
      case 'Slice':
        return [this.inferSlice(n, x)];
      case 'Gather': {
        const idx = ins[1];
        if (!x.dims || !idx?.dims) return [{ elem }];
        const ax = clampAxis((a.axis as number | undefined) ?? 0, x.dims.length);
        const dims = [...x.dims.slice(0, ax), ...idx.dims, ...x.dims.slice(ax + 1)];
        const out: TensorInfo = { elem, dims };
        const iv = idx.value;
        if (x.value && x.dims.length === 1 && iv && iv.every((d) => typeof d === 'number'))
          out.value = (iv as number[]).map((i) => x.value![i < 0 ? i + x.value!.length : i]);
        return [out];
      }
      case 'GatherElements':
        return [{ elem, dims: ins[1]?.dims }];
      case 'ScatterElements':
      case 'ScatterND':
        return [{ elem, dims: x.dims }];
      case 'Expand': {
        const sv = ins[1]?.value;
        const len = ins[1]?.dims?.[0];
        const target = sv ?? (typeof len === 'number' ? Array<Dim>(len).fill(null) : undefined);
        return [{ elem, dims: broadcastDims([x.dims, target]) }];
      }
      case 'ConstantOfShape':
        return [{ elem: 'float32', dims: x.value }];
      case 'Range': {
        const [s, l, d] = ins.map((t) => t?.value?.[0]);
        let len: Dim = null;
        if (typeof s === 'number' && typeof l === 'number' && typeof d === 'number' && d !== 0)
          len = Math.max(0, Math.ceil((l - s) / d));
        else if (s === 0 && d === 1 && l !== undefined) len = l;
        return [{ elem, dims: [len] }];
      }
      case 'NonZero':
        return [{ elem: 'int64', dims: [x.dims ? x.dims.length : null, null] }];
      case 'Split':
        return this.inferSplit(n, x);
      case 'Pad':
        return [{ elem, dims: x.dims?.map(() => null) }];
      case 'OneHot':
        return [{ elem: ins[2]?.elem }];
      default:
        return [];
    }
  }

  private inferReshape(n: GraphNode, x: TensorInfo, elem: ElemType | undefined): TensorInfo {
    const a = n.attrs;
    const target = this.get(n.inputs[1]);
    const tv = target.value;
    if (!tv) {
      const len = target.dims?.[0];
      return { elem, dims: typeof len === 'number' ? Array(len).fill(null) : undefined };
    }
    const dims: Dim[] = tv.map((d, i) =>
      d === 0 && a.allowzero !== 1 ? (x.dims?.[i] ?? null) : d === -1 ? null : d,
    );
    const hole = tv.indexOf(-1);
    if (hole >= 0 && x.dims) {
      const known = dims.filter((_, i) => i !== hole);
      dims[hole] = dimDiv(dimProd(x.dims), dimProd(known));
    }
    return { elem, dims, value: x.value };
  }

  private inferSlice(n: GraphNode, x: TensorInfo): TensorInfo {
    const elem = x.elem;
    if (!x.dims) return { elem };
    const r = x.dims.length;
    const starts = this.numbers(n.inputs[1]);
    const ends = this.numbers(n.inputs[2]);
    const axes = n.inputs[3] ? this.numbers(n.inputs[3]) : starts && range(starts.length);
    const steps = n.inputs[4] ? this.numbers(n.inputs[4]) : starts?.map(() => 1);
    if (!starts || !ends || !axes || !steps) {
      // Axes alone tell which dims may change.
      if (!axes) return { elem, dims: x.dims.map(() => null) };
      const set = new Set(axes.map((ax) => (ax < 0 ? ax + r : ax)));
      return { elem, dims: x.dims.map((d, i) => (set.has(i) ? null : d)) };
    }
    const dims = [...x.dims];
    axes.forEach((ax0, k) => {
      const ax = ax0 < 0 ? ax0 + r : ax0;
      dims[ax] = sliceLen(x.dims![ax], starts[k], ends[k], steps[k]);
    });
    const out: TensorInfo = { elem, dims };
    if (x.value && r === 1 && typeof dims[0] === 'number' && steps[0] === 1) {
      const n0 = x.value.length;
      const s = clampIndex(starts[0], n0);
      out.value = x.value.slice(s, s + dims[0]);
    }
    return out;
  }

  private inferSplit(n: GraphNode, x: TensorInfo): TensorInfo[] {
    const k = n.outputs.length;
    if (!x.dims) return Array.from({ length: k }, () => ({ elem: x.elem }));
    const ax = clampAxis((n.attrs.axis as number | undefined) ?? 0, x.dims.length);
    const sizes = n.inputs[1] ? this.numbers(n.inputs[1]) : undefined;
    const d = x.dims[ax];
    return Array.from({ length: k }, (_, i) => {
      const dims = [...x.dims!];
      if (sizes) dims[ax] = sizes[i];
      else if (!n.inputs[1] && typeof d === 'number' && d % k === 0) dims[ax] = d / k;
      else dims[ax] = null;
      return { elem: x.elem, dims };
    });
  }
}

/** Elementwise with broadcasting; small integer values are computed too (shape arithmetic). */
function inferBroadcast(
  op: string,
  ins: (TensorInfo | undefined)[],
  elem: ElemType | undefined,
): TensorInfo {
  const dims = broadcastDims(ins.map((t) => t?.dims));
  const out: TensorInfo = { elem: op === 'Where' ? ins[1]?.elem : elem, dims };
  const va = ins[0]?.value;
  const vb = ins[1]?.value;
  if (va && vb && ins.length === 2 && (va.length === vb.length || vb.length === 1)) {
    const f = valueOp(op);
    if (f) out.value = va.map((d, i) => f(d, vb.length === 1 ? vb[0] : vb[i]));
  }
  return out;
}

/** Concat: the axis sums, the other axes broadcast; a concatenated 1-D value is kept. */
function inferConcat(
  ins: (TensorInfo | undefined)[],
  axis: number,
  elem: ElemType | undefined,
): TensorInfo {
  const all = ins.map((t) => t?.dims);
  const first = all.find((d) => d !== undefined);
  if (!first) return { elem };
  const r = first.length;
  const ax = clampAxis(axis, r);
  const dims: Dim[] = [];
  for (let i = 0; i < r; i++) {
    if (i === ax) {
      let sum: Dim = 0;
      for (const d of all) {
        const di = d?.[i];
        sum = typeof sum === 'number' && typeof di === 'number' ? sum + di : null;
      }
      dims.push(sum);
    } else dims.push(broadcastDims(all.map((d) => (d ? [d[i]] : undefined)))?.[0] ?? null);
  }
  const out: TensorInfo = { elem, dims };
  if (r === 1 && ins.every((t) => t?.value)) out.value = ins.flatMap((t) => t!.value!);
  return out;
}

function valueOp(op: string): ((a: Dim, b: Dim) => Dim) | undefined {
  const num = (f: (a: number, b: number) => number) => (a: Dim, b: Dim) =>
    typeof a === 'number' && typeof b === 'number' ? f(a, b) : null;
  switch (op) {
    case 'Add':
      return (a, b) => (a === 0 ? b : b === 0 ? a : num((p, q) => p + q)(a, b));
    case 'Sub':
      return (a, b) => (a !== null && a === b ? 0 : b === 0 ? a : num((p, q) => p - q)(a, b));
    case 'Mul':
      return dimMul;
    case 'Div':
      return (a, b) => (b === 1 ? a : dimDiv(a, b));
    default:
      return undefined;
  }
}

/** Static length of x[start:end] along one axis (step 1 only for symbolic dims). */
function sliceLen(d: Dim, s: number, e: number, step: number): Dim {
  if (typeof d === 'number') {
    if (step > 0) {
      const a = clampIndex(s, d);
      const b = clampIndex(e, d);
      return Math.max(0, Math.ceil((b - a) / step));
    }
    const a = s < 0 ? Math.max(-1, s + d) : Math.min(d - 1, s);
    const b = e < 0 ? Math.max(-1, e + d) : Math.min(d - 1, e);
    return Math.max(0, Math.ceil((b - a) / step));
  }
  if (d === null || step !== 1 || s < 0) return null;
  // max(0, d - k) written as one opaque atom, so that x[:-1] and x[1:] of the same dim agree.
  const k = e >= BIG ? s : e < 0 ? s - e : null;
  if (k === null) return null;
  return k === 0 ? d : `(${d}-${k})`;
}

function clampIndex(i: number, n: number): number {
  return Math.min(n, Math.max(0, i < 0 ? i + n : i));
}

function clampAxis(ax: number, r: number): number {
  return Math.min(r, Math.max(0, ax < 0 ? ax + r : ax));
}

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
