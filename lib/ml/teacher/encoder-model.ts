import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { KdError } from '../../errors.js';
import { OnnxGraph, type ValueName } from '../export/onnx/onnx-graph.js';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const EXTERNAL = onnx.TensorProto.DataLocation.EXTERNAL;

/** The output the pooling head adds: one L2-normalised float32 row per sequence [batch, hidden]. */
export const POOLED_OUTPUT = 'kd_pooling/sentence_embedding';

/** An encoder's ONNX file as ONNX Runtime is given it: bytes, plus the external-data files they name. */
export interface EncoderModel {
  bytes: Uint8Array;
  /** A model given as bytes has no folder to resolve its external data against: ONNX Runtime takes those files' contents. */
  externalData: { path: string; data: Uint8Array }[];
  inputs: string[];
  outputs: string[];
  /** The default domain's opset. */
  opset: number;
  /** ONNX element type of each output (1 = float32, 10 = float16). */
  outputTypes: Map<string, number>;
  /**
   * The model's parameters: the elements of its graph's initializers (weights, biases, embedding
   * tables; a quantised model's scales and zero points too, a fraction of a percent).
   */
  params: number;
}

/** Reads `file` (an ONNX model) and the external-data files its initializers name, relative to it; errors name `shownAs`. */
export function readEncoderModel(file: string, shownAs = file): EncoderModel {
  const bytes = readFileSync(file);
  let model: onnxProto.onnx.ModelProto;
  try {
    // Decoding keeps the weights as views of `bytes`: a few milliseconds.
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new KdError(`${shownAs}: not an ONNX model (its protobuf does not parse: ${(error as Error).message})`);
  }
  const graph = model.graph;
  if (!graph) throw new KdError(`${shownAs}: not an ONNX model (it has no graph)`);
  const opset = Number(model.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 0);
  const initializers = graph.initializer ?? [];
  const locations = new Set<string>();
  for (const tensor of initializers) {
    if (tensor.dataLocation !== EXTERNAL) continue;
    const location = tensor.externalData?.find((entry) => entry.key === 'location')?.value;
    if (location) locations.add(location);
  }
  const externalData = [...locations].map((location) => {
    const at = path.join(path.dirname(file), location);
    if (!existsSync(at)) throw new KdError(`${shownAs}: its weights are stored in ${location}, which is missing beside it`);
    return { path: location, data: readFileSync(at) };
  });
  const params = initializers.reduce((sum, t) => sum + (t.dims ?? []).reduce((n: number, d) => n * Number(d), 1), 0);
  if (params === 0) throw new KdError(`${shownAs}: no initializers found: not an ONNX model with weights`);
  const weights = new Set(initializers.map((t) => t.name ?? ''));
  const outputs = graph.output ?? [];
  return {
    bytes,
    externalData,
    // Models before IR 4 list their initializers as inputs too.
    inputs: (graph.input ?? []).map((i) => i.name ?? '').filter((name) => !weights.has(name)),
    outputs: outputs.map((o) => o.name ?? ''),
    opset,
    outputTypes: new Map(outputs.map((o) => [o.name ?? '', o.type?.tensorType?.elemType ?? 0])),
    params,
  };
}

/**
 * `model` with the sentence-embedding pooling appended to its graph as POOLED_OUTPUT: the mean of
 * `hidden`'s rows over `mask`'s real tokens (or the first row, `cls`), divided by its L2 norm —
 * what sentence-transformers computes after the model. ONNX Runtime then returns [batch, hidden]
 * instead of [batch, tokens, hidden] (a copy 10–40 times smaller for each batch) and pools with
 * its own threads (docs/distill-bench.md#encoder-throughput).
 */
export function withPoolingHead(model: EncoderModel, pooling: 'mean' | 'cls', hidden: ValueName, mask: ValueName): Uint8Array {
  const g = new OnnxGraph('kd_pooling/');
  // ReduceSum and Unsqueeze take their axes as an input from opset 13, as an attribute before it.
  const withAxes = (op: 'ReduceSum' | 'Unsqueeze', x: ValueName, axes: number[], attributes: Record<string, number> = {}) =>
    model.opset >= 13 ? g.op(op, [x, g.constant('int64', axes)], attributes) : g.op(op, [x], { ...attributes, axes });
  // A float16 model's hidden states are pooled in float32, as the model's user would.
  const states = model.outputTypes.get(hidden) === FLOAT ? hidden : g.op('Cast', [hidden], { to: FLOAT });
  let pooled: ValueName;
  if (pooling === 'cls') pooled = g.op('Gather', [states, g.constant('int64', [0], [])], { axis: 1 });
  else {
    const real = g.op('Cast', [mask], { to: FLOAT });
    const sum = withAxes('ReduceSum', g.op('Mul', [states, withAxes('Unsqueeze', real, [2])]), [1], { keepdims: 0 });
    const count = withAxes('ReduceSum', real, [1], { keepdims: 1 });
    pooled = g.op('Div', [sum, g.op('Max', [count, g.constant('float32', [1e-9], [])])]);
  }
  const norm = g.op('Sqrt', [withAxes('ReduceSum', g.op('Mul', [pooled, pooled]), [1], { keepdims: 1 })]);
  g.op('Div', [pooled, g.op('Max', [norm, g.constant('float32', [1e-12], [])])], {}, POOLED_OUTPUT);
  return g.extend(model.bytes, [POOLED_OUTPUT]);
}
