// Reverse-mode automatic differentiation over a GraphBuilder: appends the gradient nodes (plain
// ONNX ops, under the `/grad` scope) that compute d loss / d wrt for each requested value.
// onnxruntime-node has no training API, so a training step is one ONNX graph holding the
// forward pass, these gradient nodes and the optimiser update.

import { fail } from '../../core/errors.js';
import type { Checkpoint, GraphBuilder, V } from '../graph/builder.js';
import type { GraphNode } from '../graph/ir.js';
import { GRAD_RULES, NO_GRADIENT_OPS, NodeGradContext, type GradEntry } from './rules.js';
import { ShapeTable } from './shapes.js';

export interface BackwardOptions {
  /**
   * Gradient of the loss to start from (same shape as `loss`). Default: 1, which requires a
   * scalar (or single-element) loss.
   */
  seed?: V;
  /**
   * Recompute the builder's checkpoints (b.checkpoint) instead of keeping their intermediate
   * values: gradient checkpointing (Chen et al. 2016, "Training Deep Nets with Sublinear Memory
   * Cost"; transformers' gradient_checkpointing). Costs one more forward pass of each stretch.
   */
  recompute?: boolean;
}

/** A checkpoint's nodes that depend on its input, and their recomputed copies once emitted. */
interface Recompute {
  cp: Checkpoint;
  nodes: GraphNode[];
  copies?: Map<V, V>;
}

/**
 * Which nodes each checkpoint recomputes: those its input reaches within its stretch. Nodes fed
 * only by weights (a transposed weight) are not activations and stay shared.
 */
function recomputePlan(b: GraphBuilder, nodes: GraphNode[]): Map<GraphNode, Recompute> {
  const of = new Map<GraphNode, Recompute>();
  for (const cp of b.checkpoints) {
    const r: Recompute = { cp, nodes: [] };
    const dependent = new Set<V>([b.resolve(cp.input)]);
    for (const n of nodes.slice(cp.from, cp.to)) {
      if (!n.inputs.some((v) => dependent.has(v))) continue;
      r.nodes.push(n);
      of.set(n, r);
      for (const o of n.outputs) dependent.add(o);
    }
  }
  return of;
}

/**
 * Emit the copies of a checkpoint's nodes. Their input is the checkpoint input plus a zero that
 * depends on the gradient arriving at the checkpoint output, for two reasons: onnxruntime cannot
 * run the copies before the backward pass reaches them (they would be held the whole pass), and
 * its common-subexpression elimination cannot merge them back into the forward nodes.
 */
function emitRecompute(b: GraphBuilder, r: Recompute, gradOut: V, shapes: ShapeTable): Map<V, V> {
  return b.scope('recompute', () => {
    const input = b.resolve(r.cp.input);
    const rows = b.shape(gradOut, 0, 1); // [1] int64, known only once gradOut exists
    const zero = b.cast(b.mul(rows, b.constI64(0)), b.float); // [1] = 0
    const copies = new Map<V, V>([[input, b.op1('Add', [input, zero], {}, 'WaitForGradient')]]);
    shapes.alias(copies.get(input)!, input);
    for (const n of r.nodes) {
      const outs = b.op(
        n.opType,
        n.inputs.map((v) => copies.get(v) ?? v),
        n.attrs,
        n.outputs.length,
      );
      n.outputs.forEach((o, i) => {
        copies.set(o, outs[i]);
        shapes.alias(outs[i], o);
      });
    }
    return copies;
  });
}

/**
 * ONNX has no stop-gradient op; losses mark detached values (torch `.detach()`) with an Identity
 * node named `…/StopGradient` (see train/losses/common.ts), and the pass does not cross it.
 */
export const STOP_GRADIENT_SUFFIX = '/StopGradient';
function isStopGradient(n: GraphNode): boolean {
  return n.opType === 'Identity' && n.name.endsWith(STOP_GRADIENT_SUFFIX);
}

function diffInputs(entry: GradEntry | undefined, n: GraphNode): readonly number[] {
  if (!entry) return n.inputs.map((_, i) => i); // unknown op: assume every input matters
  return typeof entry.differentiable === 'function'
    ? entry.differentiable(n)
    : entry.differentiable;
}

/** A node of the backward path, with the inputs whose gradient it must produce. */
interface PathStep {
  node: GraphNode;
  entry: GradEntry;
  wanted: boolean[];
}

/** Values that depend differentiably on some wrt. */
function reachedFrom(nodes: GraphNode[], wrt: V[]): Set<V> {
  const reached = new Set<V>(wrt);
  for (const n of nodes) {
    if (NO_GRADIENT_OPS.has(n.opType) || isStopGradient(n)) continue;
    const entry = GRAD_RULES[n.opType];
    if (diffInputs(entry, n).some((i) => reached.has(n.inputs[i])))
      for (const o of n.outputs) reached.add(o);
  }
  return reached;
}

/** Nodes between the wrt and the loss, in reverse order, with the inputs each must serve. */
function backwardPath(nodes: GraphNode[], loss: V, reached: Set<V>): PathStep[] {
  const live = new Set<V>([loss]);
  const path: PathStep[] = [];
  for (let k = nodes.length - 1; k >= 0; k--) {
    const n = nodes[k];
    if (!n.outputs.some((o) => live.has(o) && reached.has(o))) continue;
    const entry = GRAD_RULES[n.opType];
    if (!entry)
      fail(
        'E_AUTODIFF_NO_RULE',
        `no gradient rule for ${n.opType} (node ${n.name}), which lies between the differentiated values and the loss`,
        'add a rule for it to src/engine/autodiff/rules.ts, or keep the op off the path from trainable values to the loss',
      );
    const wanted = n.inputs.map(() => false);
    for (const i of diffInputs(entry, n)) {
      const v = n.inputs[i];
      if (v && reached.has(v)) {
        wanted[i] = true;
        live.add(v);
      }
    }
    path.push({ node: n, entry, wanted });
  }
  return path;
}

/**
 * The gradient contributions of each value. They are summed once, when the gradient is first
 * read: one Add or Sum node.
 */
class GradSums {
  private readonly parts = new Map<V, V[]>();
  private readonly summed = new Map<V, V>();
  constructor(private readonly b: GraphBuilder) {}

  add(v: V, g: V): void {
    const list = this.parts.get(v);
    if (list) list.push(g);
    else this.parts.set(v, [g]);
  }

  of(v: V): V | undefined {
    const done = this.summed.get(v);
    if (done) return done;
    const list = this.parts.get(v);
    if (!list) return undefined;
    const b = this.b;
    const g =
      list.length === 1
        ? list[0]
        : list.length === 2
          ? b.add(list[0], list[1])
          : b.op1('Sum', list);
    this.summed.set(v, g);
    return g;
  }
}

/** The gradient the pass starts from: the seed, or ones shaped like a single-element loss. */
function seedGradient(b: GraphBuilder, shapes: ShapeTable, loss: V, seed: V | undefined): V {
  if (seed) return seed;
  const d = shapes.dims(loss);
  if (d && d.some((x) => x !== 1))
    fail(
      'E_AUTODIFF_LOSS',
      `the loss ${loss} has shape [${d.map((x) => x ?? '?').join(', ')}]; backward() needs a scalar loss or a seed gradient`,
      'reduce the loss to a scalar (ReduceSum/ReduceMean with keepdims 0), or pass opts.seed',
    );
  const one = b.constF(1);
  return d && d.length === 0 ? one : b.expand(one, b.shape(loss));
}

/** Apply one node's gradient rule, reading recomputed copies of its forward values if any. */
function differentiateNode(
  b: GraphBuilder,
  shapes: ShapeTable,
  step: PathStep,
  sums: GradSums,
  reached: Set<V>,
  plan: Map<GraphNode, Recompute>,
): void {
  const { node, entry, wanted } = step;
  // A recomputed node's rule reads the copies of its forward values, not the originals.
  const r = plan.get(node);
  if (r && !r.copies) {
    const gradOut = sums.of(b.resolve(r.cp.output));
    r.copies = gradOut ? emitRecompute(b, r, gradOut, shapes) : new Map();
  }
  const copy = (v: V) => r?.copies?.get(v) ?? v;
  const view = r
    ? { ...node, inputs: node.inputs.map(copy), outputs: node.outputs.map(copy) }
    : node;
  b.scope(node.name.replace(/^\//, ''), () => {
    const grads = node.outputs.map((o) => (reached.has(o) ? sums.of(o) : undefined));
    if (grads.every((g) => g === undefined)) return;
    const ctx = new NodeGradContext(b, shapes, view, wanted);
    const gin = entry.grad(view, b, grads, ctx);
    wanted.forEach((w, i) => {
      const g = gin[i];
      if (w && g !== undefined) sums.add(node.inputs[i], g);
    });
  });
}

/**
 * Appends to `b` the nodes computing d`loss`/d`w` for every `w` in `wrt` (graph inputs,
 * initializers or intermediate values) and returns their value names. Only nodes on a path from
 * some `wrt` to `loss` are differentiated; a `wrt` the loss does not depend on gets zeros.
 * Fails with E_AUTODIFF_NO_RULE when such a node's op has no gradient rule.
 */
export function backward(
  b: GraphBuilder,
  loss: V,
  wrt: V[],
  opts: BackwardOptions = {},
): Map<V, V> {
  const nodes = b.nodes.slice(); // the forward graph; the pass appends to b.nodes
  const shapes = new ShapeTable(b);
  for (const v of [loss, ...wrt]) {
    if (!shapes.has(v))
      fail(
        'E_AUTODIFF_VALUE',
        `${v} is not a value of graph ${b.name}`,
        'pass names returned by the GraphBuilder (inputs, initializers or node outputs)',
      );
  }
  const reached = reachedFrom(nodes, wrt);
  const path = backwardPath(nodes, loss, reached);
  const plan = opts.recompute ? recomputePlan(b, nodes) : new Map<GraphNode, Recompute>();
  const sums = new GradSums(b);

  b.scope('grad', () => {
    sums.add(loss, seedGradient(b, shapes, loss, opts.seed));
    for (const step of path) differentiateNode(b, shapes, step, sums, reached, plan);
  });

  const out = new Map<V, V>();
  b.scope('grad', () => {
    for (const w of wrt) {
      let g = sums.of(w);
      if (g === undefined) {
        const d = shapes.dims(w);
        const shape =
          d && d.every((x) => typeof x === 'number') ? b.constI64(d as number[]) : b.shape(w);
        g = b.expand(b.constF(0), shape);
      }
      out.set(w, g);
    }
  });
  return out;
}
