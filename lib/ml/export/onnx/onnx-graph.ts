import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const DataType = onnx.TensorProto.DataType;

/** Opset 13: the oldest with per-axis DequantizeLinear and ReduceSum's axes as an input, which every current runtime (ORT Mobile, ORT Web) reads. */
export const OPSET = 13;
/** The IR version that goes with opset 13. */
const IR_VERSION = 7;

export type TensorType = 'float32' | 'int8' | 'int64';
const DATA_TYPES: Record<TensorType, number> = { float32: DataType.FLOAT, int8: DataType.INT8, int64: DataType.INT64 };

/** The students need integer, integer-list and string attributes only. */
type AttributeValue = number | number[] | string;

/** One named value of the graph: a graph input, an initializer or a node's output. */
export type ValueName = string;

/**
 * A small builder over the generated onnx.proto bindings (onnx-proto, protobufjs): the student's
 * converter says which operators connect which values; this writes them as ONNX messages, names
 * every intermediate value uniquely and encodes the model.
 */
export class OnnxGraph {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly constants = new Map<string, ValueName>();
  private counter = 0;

  /** `prefix` starts every name this builder makes, so that nodes added to an existing graph (extend) cannot clash with its own. */
  constructor(private readonly prefix = '') {}

  /** A weight or constant tensor stored in the file (little-endian raw bytes). */
  initializer(name: string, type: TensorType, dims: readonly number[], values: Float32Array | Int8Array | BigInt64Array): ValueName {
    const rawData = new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
    this.initializers.push({ name, dataType: DATA_TYPES[type], dims: [...dims], rawData });
    return name;
  }

  /** A shared small constant (one initializer however often it is used). */
  constant(type: 'float32' | 'int64', values: readonly number[], dims: readonly number[] = [values.length]): ValueName {
    const key = `${type}:${dims.join('x')}:${values.join(',')}`;
    const known = this.constants.get(key);
    if (known) return known;
    const data = type === 'float32' ? Float32Array.from(values) : BigInt64Array.from(values, (v) => BigInt(v));
    const name = this.initializer(`${this.prefix}const_${this.constants.size}`, type, dims, data);
    this.constants.set(key, name);
    return name;
  }

  /** Adds one operator and returns the name of its (single) output; `output` names it when the graph's reader must find it. */
  op(opType: string, inputs: readonly ValueName[], attributes: Record<string, AttributeValue> = {}, output?: string): ValueName {
    const out = output ?? `${this.prefix}${opType.toLowerCase()}_${this.counter++}`;
    this.nodes.push({
      opType,
      name: `${this.prefix}${opType}_${this.nodes.length}`,
      input: [...inputs],
      output: [out],
      attribute: Object.entries(attributes).map(([name, value]) => attribute(name, value)),
    });
    return out;
  }

  /** The model file: one int64 input [batch, seq] and one float32 output [batch, classes], dynamic axes named. */
  encode(info: { input: ValueName; output: ValueName; classes: number; producerVersion: string; docString: string; metadata: Record<string, string> }): Uint8Array {
    const tensorType = (elemType: number, dims: onnxProto.onnx.TensorShapeProto.IDimension[]) => ({ tensorType: { elemType, shape: { dim: dims } } });
    const model: onnxProto.onnx.IModelProto = {
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: OPSET }],
      producerName: 'kd-pipeline',
      producerVersion: info.producerVersion,
      docString: info.docString,
      metadataProps: Object.entries(info.metadata).map(([key, value]) => ({ key, value })),
      graph: {
        name: 'student',
        node: this.nodes,
        initializer: this.initializers,
        input: [{ name: info.input, type: tensorType(DataType.INT64, [{ dimParam: 'batch' }, { dimParam: 'sequence' }]) }],
        output: [{ name: info.output, type: tensorType(DataType.FLOAT, [{ dimParam: 'batch' }, { dimValue: info.classes }]) }],
      },
    };
    return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
  }

  /**
   * `model` with this builder's nodes and initializers added to its graph, and `outputs` (float32)
   * added to the graph's outputs. The addition is a second ModelProto.graph appended to the file:
   * protobuf merges a message field that appears twice, concatenating repeated fields, so every
   * byte of the original model, fields this package's onnx.proto predates included, stays as it was.
   */
  extend(model: Uint8Array, outputs: readonly ValueName[]): Uint8Array {
    const graph: onnxProto.onnx.IGraphProto = {
      node: this.nodes,
      initializer: this.initializers,
      output: outputs.map((name) => ({ name, type: { tensorType: { elemType: DataType.FLOAT } } })),
    };
    const addition = onnx.ModelProto.encode(onnx.ModelProto.create({ graph })).finish();
    const bytes = new Uint8Array(model.length + addition.length);
    bytes.set(model);
    bytes.set(addition, model.length);
    return bytes;
  }
}

function attribute(name: string, value: AttributeValue): onnxProto.onnx.IAttributeProto {
  const { AttributeType } = onnx.AttributeProto;
  if (typeof value === 'string') return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: AttributeType.INTS, ints: value };
  return { name, type: AttributeType.INT, i: value };
}
