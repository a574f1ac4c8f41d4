// The graph IR the builder produces and the autodiff pass (Engine II) reads. It mirrors ONNX
// closely (nodes with op type, named inputs/outputs, attributes) so serialisation is a direct map.

export type ElemType = 'float32' | 'float64' | 'int64' | 'int32' | 'bool' | 'uint8';

export type TypedData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

export type AttrValue = number | string | number[] | { float: number } | { floats: number[] };

export interface GraphNode {
  opType: string;
  /** Scoped node name, e.g. `/model/layers.0/self_attn/q_proj/MatMul`. */
  name: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
  /** The operator set domain; absent = the ONNX default domain. `com.microsoft` = onnxruntime's contrib ops. */
  domain?: string;
}

/**
 * A little-endian tensor stored in a file the session reads itself (ONNX external data): a
 * float32 checkpoint's weight is mapped from its safetensors file instead of copied into the
 * graph. `file` is relative to `dir`, the folder the session resolves it in.
 */
export interface ExternalTensor {
  dir: string;
  file: string;
  offset: number;
  length: number;
}

export interface Initializer {
  name: string;
  elemType: ElemType;
  dims: number[];
  /** The values; empty when `external` holds them. */
  data: TypedData;
  external?: ExternalTensor;
}

/** A graph input or output; string dims are symbolic (`batch`, `seq`). */
export interface ValueInfo {
  name: string;
  elemType: ElemType;
  dims: (number | string)[];
}

export interface Graph {
  name: string;
  nodes: GraphNode[];
  initializers: Map<string, Initializer>;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  /** The ONNX default-domain opset the graph is written against. */
  opset: number;
}

export function elemSize(t: ElemType): number {
  switch (t) {
    case 'float64':
    case 'int64':
      return 8;
    case 'float32':
    case 'int32':
      return 4;
    case 'bool':
    case 'uint8':
      return 1;
  }
}
