import { PipelineError } from '../../core/errors.js';
import {
  elemSize,
  type AttrValue,
  type ElemType,
  type ExternalTensor,
  type Graph,
  type GraphNode,
  type Initializer,
  type TypedData,
  type ValueInfo,
} from './ir.js';

/** Opset 18: reductions take `axes` as an input, which keeps every reduce op uniform. */
export const OPSET = 18;

/** A tensor in the graph under construction: just its name (ONNX is name-linked). */
export type V = string;

/**
 * A stretch of nodes (indices from..to-1 of `nodes`) computing `output` from the activation
 * `input` (plus weights and shared constants): the backward pass may recompute it from `input`
 * instead of keeping its intermediate values (gradient checkpointing, see autodiff/backward.ts).
 */
export interface Checkpoint {
  input: V;
  output: V;
  from: number;
  to: number;
}

/**
 * Builds a Graph with typed op constructors and scoped names that read like the model
 * (`/model/layers.0/self_attn/q_proj/MatMul`). `float` is the element type of float tensors in
 * this graph: float32 for real use, float64 for gradient checks.
 */
export class GraphBuilder {
  readonly nodes: GraphNode[] = [];
  readonly initializers = new Map<string, Initializer>();
  readonly inputs: ValueInfo[] = [];
  readonly outputs: ValueInfo[] = [];
  readonly checkpoints: Checkpoint[] = [];
  private readonly scopes: string[] = [];
  private readonly usedNames = new Map<string, number>();
  private readonly constCache = new Map<string, V>();
  private readonly renamed = new Map<V, V>();

  constructor(
    readonly name: string,
    readonly float: 'float32' | 'float64' = 'float32',
  ) {}

  // ---- structure -------------------------------------------------------------------------------

  /** Run `fn` with node names prefixed by `/name` (nested scopes join with '/'). */
  scope<T>(name: string, fn: () => T): T {
    this.scopes.push(name);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  /**
   * Build `fn()` (which computes from the activation `input`) as a Checkpoint: a stretch the
   * backward pass may recompute.
   */
  checkpoint(input: V, fn: () => V): V {
    const from = this.nodes.length;
    const output = fn();
    this.checkpoints.push({ input, output, from, to: this.nodes.length });
    return output;
  }

  input(name: string, elemType: ElemType, dims: (number | string)[]): V {
    this.inputs.push({ name, elemType, dims });
    return name;
  }

  /**
   * Mark `value` as a graph output under `name`. A node output is renamed in place rather than
   * copied through an Identity: onnxruntime does not elide an Identity that feeds a graph output,
   * and for the KV cache that copy cost ~8% of a batch-8 decode step.
   */
  output(value: V, name: string, elemType: ElemType, dims: (number | string)[]): V {
    const v = this.resolve(value);
    if (v !== name) {
      const producer = this.nodes.find((n) => n.outputs.includes(v));
      const taken = this.outputs.some((o) => o.name === v);
      if (producer && !taken) {
        producer.outputs = producer.outputs.map((o) => (o === v ? name : o));
        for (const n of this.nodes) n.inputs = n.inputs.map((i) => (i === v ? name : i));
        this.renamed.set(v, name);
      } else {
        this.nodes.push(this.mkNode('Identity', [v], [name], {}, name));
      }
    }
    this.outputs.push({ name, elemType, dims });
    return name;
  }

  /** The current name of a value that `output` may have renamed. */
  resolve(value: V): V {
    let v = value;
    while (this.renamed.has(v)) v = this.renamed.get(v)!;
    return v;
  }

  /** A named weight (checkpoint key) or other constant tensor stored in the model. */
  initializer(name: string, elemType: ElemType, dims: number[], data: TypedData): V {
    const n = dims.reduce((a, b) => a * b, 1);
    if (data.length !== n) {
      throw new PipelineError({
        code: 'E_GRAPH_INITIALIZER',
        message: `initializer ${name}: ${data.length} elements for shape [${dims.join(', ')}] (${n} expected)`,
        hint: 'this is a bug in the graph builder caller',
      });
    }
    if (this.initializers.has(name)) {
      throw new PipelineError({
        code: 'E_GRAPH_INITIALIZER',
        message: `initializer ${name} defined twice`,
      });
    }
    this.initializers.set(name, { name, elemType, dims, data });
    return name;
  }

  /** A named weight whose values stay in a file (ONNX external data, see ExternalTensor). */
  externalInitializer(
    name: string,
    elemType: ElemType,
    dims: number[],
    external: ExternalTensor,
  ): V {
    const bytes = dims.reduce((a, b) => a * b, 1) * elemSize(elemType);
    if (external.length !== bytes || this.initializers.has(name))
      throw new PipelineError({
        code: 'E_GRAPH_INITIALIZER',
        message: `external initializer ${name}: ${external.length} bytes for ${elemType}[${dims.join(', ')}] (${bytes} expected), or defined twice`,
        hint: 'this is a bug in the graph builder caller',
      });
    this.initializers.set(name, { name, elemType, dims, data: new Float32Array(0), external });
    return name;
  }

  /** Scalar or 1-D float constant in the graph's float type (deduplicated by value). */
  constF(values: number | number[]): V {
    const arr = typeof values === 'number' ? [values] : values;
    const dims = typeof values === 'number' ? [] : [arr.length];
    const key = `f:${dims.length}:${arr.join(',')}`;
    return this.cached(key, () => {
      const data = this.float === 'float64' ? Float64Array.from(arr) : Float32Array.from(arr);
      return this.initializer(`/const/${this.constCache.size}`, this.float, dims, data);
    });
  }

  /** Scalar or 1-D int64 constant (deduplicated). */
  constI64(values: number | number[]): V {
    const arr = typeof values === 'number' ? [values] : values;
    const dims = typeof values === 'number' ? [] : [arr.length];
    const key = `i:${dims.length}:${arr.join(',')}`;
    return this.cached(key, () =>
      this.initializer(
        `/const/${this.constCache.size}`,
        'int64',
        dims,
        BigInt64Array.from(arr, (x) => BigInt(x)),
      ),
    );
  }

  private cached(key: string, make: () => V): V {
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const v = make();
    this.constCache.set(key, v);
    return v;
  }

  /** Add a node; returns its output names (`nOut` of them). */
  op(
    opType: string,
    inputs: V[],
    attrs: Record<string, AttrValue> = {},
    nOut = 1,
    label?: string,
  ): V[] {
    const nodeName = this.uniqueName(`${this.prefix()}/${label ?? opType}`);
    const outputs = Array.from({ length: nOut }, (_, i) => `${nodeName}_output_${i}`);
    this.nodes.push(this.mkNode(opType, inputs, outputs, attrs, nodeName));
    return outputs;
  }

  /**
   * A single-output onnxruntime contrib op (domain `com.microsoft`, e.g. MatMulNBits). Inference
   * graphs only: autodiff has no rules for these.
   */
  contribOp(opType: string, inputs: V[], attrs: Record<string, AttrValue>, label?: string): V {
    const [out] = this.op(opType, inputs, attrs, 1, label);
    this.nodes[this.nodes.length - 1].domain = 'com.microsoft';
    return out;
  }

  /** Single-output op. */
  op1(opType: string, inputs: V[], attrs: Record<string, AttrValue> = {}, label?: string): V {
    return this.op(opType, inputs, attrs, 1, label)[0];
  }

  build(): Graph {
    return {
      name: this.name,
      nodes: this.nodes,
      initializers: this.initializers,
      inputs: this.inputs,
      outputs: this.outputs,
      opset: OPSET,
    };
  }

  private prefix(): string {
    return this.scopes.length ? '/' + this.scopes.join('/') : '';
  }

  private uniqueName(base: string): string {
    const n = this.usedNames.get(base) ?? 0;
    this.usedNames.set(base, n + 1);
    return n === 0 ? base : `${base}_${n}`;
  }

  private mkNode(
    opType: string,
    inputs: V[],
    outputs: V[],
    attrs: Record<string, AttrValue>,
    name: string,
  ): GraphNode {
    return { opType, name, inputs, outputs, attrs };
  }

  // ---- typed op constructors (the op set autodiff must cover) --------------------------------

  add(a: V, b: V): V {
    return this.op1('Add', [a, b]);
  }
  sub(a: V, b: V): V {
    return this.op1('Sub', [a, b]);
  }
  mul(a: V, b: V, label?: string): V {
    return this.op1('Mul', [a, b], {}, label);
  }
  div(a: V, b: V): V {
    return this.op1('Div', [a, b]);
  }
  neg(x: V): V {
    return this.op1('Neg', [x]);
  }
  pow(x: V, y: V): V {
    return this.op1('Pow', [x, y]);
  }
  sqrt(x: V): V {
    return this.op1('Sqrt', [x]);
  }
  reciprocal(x: V): V {
    return this.op1('Reciprocal', [x]);
  }
  exp(x: V): V {
    return this.op1('Exp', [x]);
  }
  log(x: V): V {
    return this.op1('Log', [x]);
  }
  sigmoid(x: V): V {
    return this.op1('Sigmoid', [x]);
  }
  cos(x: V): V {
    return this.op1('Cos', [x]);
  }
  sin(x: V): V {
    return this.op1('Sin', [x]);
  }
  matMul(a: V, b: V, label?: string): V {
    return this.op1('MatMul', [a, b], {}, label);
  }
  /** Transpose with an explicit permutation. */
  transpose(x: V, perm: number[]): V {
    return this.op1('Transpose', [x], { perm });
  }
  reshape(x: V, shape: number[] | V): V {
    return this.op1('Reshape', [x, Array.isArray(shape) ? this.constI64(shape) : shape]);
  }
  unsqueeze(x: V, axes: number[]): V {
    return this.op1('Unsqueeze', [x, this.constI64(axes)]);
  }
  squeeze(x: V, axes: number[]): V {
    return this.op1('Squeeze', [x, this.constI64(axes)]);
  }
  concat(xs: V[], axis: number): V {
    return this.op1('Concat', xs, { axis });
  }
  /** Slice along `axes` from `starts` to `ends` (exclusive), ONNX semantics (negative = from end). */
  slice(x: V, starts: number[] | V, ends: number[] | V, axes: number[]): V {
    const s = Array.isArray(starts) ? this.constI64(starts) : starts;
    const e = Array.isArray(ends) ? this.constI64(ends) : ends;
    return this.op1('Slice', [x, s, e, this.constI64(axes)]);
  }
  gather(data: V, indices: V, axis = 0): V {
    return this.op1('Gather', [data, indices], { axis });
  }
  gatherElements(data: V, indices: V, axis: number): V {
    return this.op1('GatherElements', [data, indices], { axis });
  }
  reduceMean(x: V, axes: number[], keepdims = true): V {
    return this.op1('ReduceMean', [x, this.constI64(axes)], { keepdims: keepdims ? 1 : 0 });
  }
  reduceSum(x: V, axes: number[], keepdims = true): V {
    return this.op1('ReduceSum', [x, this.constI64(axes)], { keepdims: keepdims ? 1 : 0 });
  }
  /** Inference only: autodiff has no gradient rule for it. */
  reduceMax(x: V, axes: number[], keepdims = true): V {
    return this.op1('ReduceMax', [x, this.constI64(axes)], { keepdims: keepdims ? 1 : 0 });
  }
  /** Inference only. Ties go to the lowest index (select_last_index 0), as a host argmax scan does. */
  argMax(x: V, axis: number, keepdims = true): V {
    return this.op1('ArgMax', [x], { axis, keepdims: keepdims ? 1 : 0, select_last_index: 0 });
  }
  softmax(x: V, axis = -1): V {
    return this.op1('Softmax', [x], { axis });
  }
  logSoftmax(x: V, axis = -1): V {
    return this.op1('LogSoftmax', [x], { axis });
  }
  where(cond: V, a: V, b: V): V {
    return this.op1('Where', [cond, a, b]);
  }
  cast(x: V, to: ElemType): V {
    return this.op1('Cast', [x], { to: onnxTypeCode(to) });
  }
  shape(x: V, start?: number, end?: number): V {
    const attrs: Record<string, AttrValue> = {};
    if (start !== undefined) attrs.start = start;
    if (end !== undefined) attrs.end = end;
    return this.op1('Shape', [x], attrs);
  }
  range(start: V, limit: V, delta: V): V {
    return this.op1('Range', [start, limit, delta]);
  }
  equal(a: V, b: V): V {
    return this.op1('Equal', [a, b]);
  }
  lessOrEqual(a: V, b: V): V {
    return this.op1('LessOrEqual', [a, b]);
  }
  and(a: V, b: V): V {
    return this.op1('And', [a, b]);
  }
  expand(x: V, shape: V): V {
    return this.op1('Expand', [x, shape]);
  }
}

/** ONNX TensorProto.DataType codes. */
export function onnxTypeCode(t: ElemType): number {
  switch (t) {
    case 'float32':
      return 1;
    case 'uint8':
      return 2;
    case 'int32':
      return 6;
    case 'int64':
      return 7;
    case 'bool':
      return 9;
    case 'float64':
      return 11;
  }
}
