import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { PipelineError } from '../../core/errors.js';
import { onnxTypeCode } from './builder.js';
import type { AttrValue, Graph, ValueInfo } from './ir.js';

const { onnx } = onnxProto;

/** Protobuf messages are limited to 2 GiB; ONNX models above that need external data. */
const MAX_MODEL_BYTES = 2 ** 31 - 1;

function attrProto(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'number') {
    return Number.isInteger(v) ? { name, type: T.INT, i: v } : { name, type: T.FLOAT, f: v };
  }
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ('float' in v) return { name, type: T.FLOAT, f: v.float };
  return { name, type: T.FLOATS, floats: v.floats };
}

function valueInfoProto(vi: ValueInfo): onnxProto.onnx.IValueInfoProto {
  return {
    name: vi.name,
    type: {
      tensorType: {
        elemType: onnxTypeCode(vi.elemType),
        shape: {
          dim: vi.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
        },
      },
    },
  };
}

/**
 * Serialise a Graph as an ONNX ModelProto (weights inline as raw_data). With RLAIF_DUMP_GRAPHS
 * set to a folder, every serialised graph is also written there as `<name>.txt` (dumpGraph), to
 * see what a session actually runs.
 */
export function toOnnxBytes(graph: Graph): Uint8Array {
  const dumpDir = process.env.RLAIF_DUMP_GRAPHS;
  if (dumpDir) {
    mkdirSync(dumpDir, { recursive: true });
    writeFileSync(join(dumpDir, `${graph.name}.txt`), dumpGraph(graph));
  }
  let total = 0;
  const initializer: onnxProto.onnx.ITensorProto[] = [];
  for (const init of graph.initializers.values()) {
    const raw = new Uint8Array(init.data.buffer, init.data.byteOffset, init.data.byteLength);
    total += raw.byteLength;
    initializer.push({
      name: init.name,
      dataType: onnxTypeCode(init.elemType),
      dims: init.dims,
      rawData: raw,
    });
  }
  if (total > MAX_MODEL_BYTES - 64 * 1024 * 1024) {
    throw new PipelineError({
      code: 'E_MODEL_TOO_LARGE',
      message: `graph ${graph.name}: ${(total / 2 ** 30).toFixed(2)} GiB of weights exceed the 2 GiB limit of an in-memory ONNX model`,
      hint: 'use a smaller checkpoint (up to about 450M parameters in float32); external-data models are not supported yet',
    });
  }
  const model: onnxProto.onnx.IModelProto = {
    irVersion: 8,
    producerName: 'rlaif-pipeline',
    opsetImport: [{ domain: '', version: graph.opset }],
    graph: {
      name: graph.name,
      node: graph.nodes.map((n) => ({
        opType: n.opType,
        name: n.name,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs).map(([k, v]) => attrProto(k, v)),
      })),
      initializer,
      input: graph.inputs.map(valueInfoProto),
      output: graph.outputs.map(valueInfoProto),
    },
  };
  return onnx.ModelProto.encode(model).finish();
}

/** A readable listing of the graph for debugging: one line per node, weights summarised. */
export function dumpGraph(graph: Graph): string {
  const lines: string[] = [`graph ${graph.name} (opset ${graph.opset})`];
  for (const i of graph.inputs)
    lines.push(`  input  ${i.name}: ${i.elemType}[${i.dims.join(', ')}]`);
  let params = 0;
  for (const init of graph.initializers.values()) params += init.data.length;
  lines.push(`  ${graph.initializers.size} initializers, ${params} elements`);
  for (const n of graph.nodes) {
    const attrs = Object.entries(n.attrs)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(' ');
    lines.push(
      `  ${n.name}: ${n.opType}(${n.inputs.join(', ')}) -> ${n.outputs.join(', ')}${attrs ? ' ' + attrs : ''}`,
    );
  }
  for (const o of graph.outputs)
    lines.push(`  output ${o.name}: ${o.elemType}[${o.dims.join(', ')}]`);
  return lines.join('\n') + '\n';
}
