import { closeSync, mkdirSync, openSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { PipelineError } from '../../core/errors.js';
import { onnxTypeCode } from './builder.js';
import type { AttrValue, ExternalTensor, Graph, Initializer, ValueInfo } from './ir.js';

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
 * An ONNX model in memory, and the folder its external initializers are read from (the session
 * option session.model_external_initializers_file_folder_path) when it has any.
 */
export type OnnxModelBytes = Uint8Array & { externalDir?: string };

/**
 * Serialise a Graph as an ONNX ModelProto: weights inline as raw_data, except external ones
 * (ExternalTensor), which stay in their files as ONNX external data. A session resolves external
 * files in one folder: externals of the first folder met stay external, any in other folders are
 * read inline. With RLAIF_DUMP_GRAPHS set to a folder, every serialised graph is also written
 * there as `<name>.txt` (dumpGraph), to see what a session actually runs.
 */
export function toOnnxBytes(graph: Graph): OnnxModelBytes {
  const dumpDir = process.env.RLAIF_DUMP_GRAPHS;
  if (dumpDir) {
    mkdirSync(dumpDir, { recursive: true });
    writeFileSync(join(dumpDir, `${graph.name}.txt`), dumpGraph(graph));
  }
  let total = 0;
  const initializer: onnxProto.onnx.ITensorProto[] = [];
  let externalDir: string | undefined;
  for (const init of graph.initializers.values()) {
    const ext = init.external;
    if (ext && (externalDir ?? ext.dir) === ext.dir) {
      externalDir = ext.dir;
      initializer.push({
        name: init.name,
        dataType: onnxTypeCode(init.elemType),
        dims: init.dims,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: ext.file },
          { key: 'offset', value: String(ext.offset) },
          { key: 'length', value: String(ext.length) },
        ],
      });
      continue;
    }
    const raw = ext
      ? readExternal(ext)
      : new Uint8Array(init.data.buffer, init.data.byteOffset, init.data.byteLength);
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
      message: `graph ${graph.name}: ${(total / 2 ** 30).toFixed(2)} GiB of weights held in memory exceed the 2 GiB limit of an in-memory ONNX model`,
      hint:
        'a float32 checkpoint is mapped from its files without this limit; weights computed in ' +
        'memory (bf16/f16 widened to float32, LoRA merged into large layers) are not yet: use a ' +
        'float32 checkpoint, or up to about 450M parameters',
    });
  }
  const model: onnxProto.onnx.IModelProto = {
    irVersion: 8,
    producerName: 'rlaif-pipeline',
    opsetImport: [
      { domain: '', version: graph.opset },
      ...(graph.nodes.some((n) => n.domain === 'com.microsoft')
        ? [{ domain: 'com.microsoft', version: 1 }]
        : []),
    ],
    graph: {
      name: graph.name,
      node: graph.nodes.map((n) => ({
        opType: n.opType,
        ...(n.domain ? { domain: n.domain } : {}),
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
  const bytes: OnnxModelBytes = onnx.ModelProto.encode(model).finish();
  if (externalDir) bytes.externalDir = externalDir;
  return bytes;
}

/** An external tensor's bytes, read (for a graph whose externals span several folders). */
function readExternal(ext: ExternalTensor): Uint8Array {
  const out = new Uint8Array(ext.length);
  const fd = openSync(join(ext.dir, ext.file), 'r');
  try {
    let done = 0;
    while (done < ext.length) {
      const n = readSync(fd, out, done, ext.length - done, ext.offset + done);
      if (n === 0)
        throw new Error(`${join(ext.dir, ext.file)}: short read at ${ext.offset + done}`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/** An initializer's element count, whether its values are inline or external. */
function initializerElements(init: Initializer): number {
  return init.dims.reduce((a, b) => a * b, 1);
}

/** A readable listing of the graph for debugging: one line per node, weights summarised. */
export function dumpGraph(graph: Graph): string {
  const lines: string[] = [`graph ${graph.name} (opset ${graph.opset})`];
  for (const i of graph.inputs)
    lines.push(`  input  ${i.name}: ${i.elemType}[${i.dims.join(', ')}]`);
  let params = 0;
  for (const init of graph.initializers.values()) params += initializerElements(init);
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
