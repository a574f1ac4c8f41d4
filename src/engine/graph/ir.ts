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
}

export interface Initializer {
  name: string;
  elemType: ElemType;
  dims: number[];
  data: TypedData;
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
