import { z } from 'zod';
import { KdError } from '../../../errors.js';
import { MASKED_POOLING, ZERO_PADS } from '../../models/masked-layers.js';
import type { FloatModel } from '../../models/layers-files.js';
import { OnnxGraph, type ValueName } from './onnx-graph.js';
import { quantizeInt8 } from './int8-weights.js';

/** The graph's named input and output, as the export's README documents them. */
export const ONNX_INPUT = 'input_ids';
export const ONNX_OUTPUT = 'logits';
export type OnnxPrecision = 'float32' | 'int8';

// A functional model names each layer and its inputs; a Sequential one only in the layer's config.
const layerSchema = z
  .looseObject({
    name: z.string().optional(),
    class_name: z.string(),
    config: z.looseObject({ name: z.string().optional() }),
    inbound_nodes: z.array(z.array(z.tuple([z.string()], z.unknown()))).optional(),
  })
  .transform((layer) => ({ ...layer, name: layer.name ?? layer.config.name ?? layer.class_name }));
const topologySchema = z.looseObject({ class_name: z.string(), config: z.looseObject({ layers: z.array(layerSchema) }) });
type Layer = z.infer<typeof layerSchema>;

/** What the converter reads of each layer's config (tfjs writes these keys for every such layer). */
const convConfig = z.looseObject({
  kernel_size: z.tuple([z.number().int().positive()]),
  strides: z.tuple([z.literal(1)]),
  dilation_rate: z.tuple([z.number().int().positive()]),
  padding: z.enum(['same', 'valid']),
  activation: z.string(),
  use_bias: z.boolean(),
  data_format: z.literal('channelsLast').optional(),
});
const denseConfig = z.looseObject({ activation: z.string(), use_bias: z.boolean() });
const concatConfig = z.looseObject({ axis: z.number().int() });

/** Every layer the ONNX writer translates: what the student architectures (models.ts) are built from. */
export const ONNX_LAYERS = ['InputLayer', 'Embedding', ZERO_PADS, 'Conv1D', MASKED_POOLING, 'Concatenate', 'Dense'] as const;
const ACTIVATIONS = ['linear', 'relu'];

/** A student layer (or a setting of one) the ONNX writer has no translation for. */
export class UnsupportedLayerError extends KdError {}

interface Weights {
  get(layer: string, weight: string): { shape: number[]; values: Float32Array };
}

function weightsOf(model: FloatModel): Weights {
  const floats = new Float32Array(Uint8Array.from(model.weights).buffer);
  const byName = new Map<string, { shape: number[]; values: Float32Array }>();
  let offset = 0;
  for (const spec of model.specs) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    byName.set(spec.name, { shape: spec.shape, values: floats.subarray(offset, offset + n) });
    offset += n;
  }
  return {
    get(layer, weight) {
      const found = byName.get(`${layer}/${weight}`);
      if (!found) throw new KdError(`model.json: layer ${layer} has no weight ${weight}`);
      return found;
    },
  };
}

/** tfjs Conv1D kernel [k, in, out] → ONNX Conv weight [out, in, k]. */
function convWeight(kernel: { shape: number[]; values: Float32Array }): { dims: number[]; values: Float32Array } {
  const [k, inC, outC] = kernel.shape as [number, number, number];
  const out = new Float32Array(kernel.values.length);
  for (let t = 0; t < k; t++) for (let i = 0; i < inC; i++) for (let o = 0; o < outC; o++) out[(o * inC + i) * k + t] = kernel.values[(t * inC + i) * outC + o]!;
  return { dims: [outC, inC, k], values: out };
}

/**
 * Writes the tfjs student (model.json topology + float32 weights) as an ONNX graph:
 * `input_ids` int64 [batch, sequence] → `logits` float32 [batch, classes], computing what the tfjs
 * layers compute (the masked layers included: pads zeroed, pooled over real pieces only).
 * `int8` stores each weight matrix as int8 with a DequantizeLinear in the graph (symmetric; one
 * scale per output channel, one per embedding table) and keeps the float32 arithmetic: every
 * runtime runs it, and the activations are never quantised. Throws UnsupportedLayerError naming a
 * layer it cannot translate.
 */
export function studentToOnnx(model: FloatModel, precision: OnnxPrecision, info: { classes: number; producerVersion: string; metadata: Record<string, string> }): Uint8Array {
  const topology = topologySchema.safeParse(model.json.modelTopology);
  if (!topology.success) throw new UnsupportedLayerError('model.json: not a tfjs layers model topology the ONNX writer reads');
  const layers = topology.data.config.layers;
  const sequential = topology.data.class_name === 'Sequential';
  const weights = weightsOf(model);
  const graph = new OnnxGraph();
  // A Sequential model's first layer reads the model input, which it does not name.
  const SEQUENTIAL_INPUT = '';
  const values = new Map<string, ValueName>([[SEQUENTIAL_INPUT, ONNX_INPUT]]);
  let ids: ValueName | null = sequential ? ONNX_INPUT : null;

  /** A weight as the graph reads it: float32 as trained, or int8 dequantised along `axis` (null: one scale for the tensor). */
  const weight = (name: string, dims: number[], data: Float32Array, axis: number | null): ValueName => {
    if (precision === 'float32') return graph.initializer(name, 'float32', dims, data);
    const q = quantizeInt8(data, dims, axis);
    const scale = graph.initializer(`${name}_scale`, 'float32', axis === null ? [] : [dims[axis]!], q.scales);
    const zero = graph.initializer(`${name}_zero_point`, 'int8', axis === null ? [] : [dims[axis]!], new Int8Array(q.scales.length));
    const quantised = graph.initializer(`${name}_int8`, 'int8', dims, q.values);
    return graph.op('DequantizeLinear', [quantised, scale, zero], axis === null ? {} : { axis });
  };

  // Shared by the masked layers: 1 at real positions and 0 at pads [b, L, 1], and the real count [b, 1].
  let masks: { real: ValueName; count: ValueName } | null = null;
  const realMask = () => {
    if (masks) return masks;
    const isPad = graph.op('Equal', [ids!, graph.constant('int64', [0], [])]);
    const real = graph.op('Unsqueeze', [graph.op('Cast', [graph.op('Not', [isPad])], { to: 1 }), graph.constant('int64', [2])]);
    masks = { real, count: graph.op('ReduceSum', [real, graph.constant('int64', [1])], { keepdims: 0 }) };
    return masks;
  };
  const activate = (layer: Layer, x: ValueName, activation: string) => {
    if (!ACTIVATIONS.includes(activation)) unsupported(layer, `activation ${activation}`);
    return activation === 'relu' ? graph.op('Relu', [x]) : x;
  };

  layers.forEach((layer, index) => {
    const inbound = sequential ? [index === 0 ? SEQUENTIAL_INPUT : layers[index - 1]!.name] : (layer.inbound_nodes?.[0] ?? []).map(([name]) => name);
    const inputs = inbound.map((name) => values.get(name)!);
    let out: ValueName;
    switch (layer.class_name) {
      case 'InputLayer':
        if (ids) unsupported(layer, 'a second input');
        out = ids = ONNX_INPUT;
        break;
      case 'Embedding': {
        const table = weights.get(layer.name, 'embeddings');
        const gather = (source: ValueName) => graph.op('Gather', [source, inputs[0]!], { axis: 0 });
        if (precision === 'float32') out = gather(graph.initializer(`${layer.name}/embeddings`, 'float32', table.shape, table.values));
        else {
          // Gather the int8 rows first, then dequantise only those: the table is never expanded.
          const q = quantizeInt8(table.values, table.shape, null);
          const rows = gather(graph.initializer(`${layer.name}/embeddings_int8`, 'int8', table.shape, q.values));
          out = graph.op('DequantizeLinear', [rows, graph.initializer(`${layer.name}/embeddings_scale`, 'float32', [], q.scales), graph.initializer(`${layer.name}/embeddings_zero_point`, 'int8', [], new Int8Array(1))]);
        }
        break;
      }
      case ZERO_PADS:
        out = graph.op('Mul', [inputs[0]!, realMask().real]);
        break;
      case 'Conv1D': {
        const config = parseConfig(layer, convConfig);
        const [k] = config.kernel_size;
        const [dilation] = config.dilation_rate;
        const kernel = convWeight(weights.get(layer.name, 'kernel'));
        // tfjs 'same' padding puts the odd extra pad at the end, as TensorFlow does.
        const total = config.padding === 'same' ? dilation * (k - 1) : 0;
        const conv = graph.op(
          'Conv',
          [graph.op('Transpose', [inputs[0]!], { perm: [0, 2, 1] }), weight(`${layer.name}/kernel`, kernel.dims, kernel.values, 0), ...(config.use_bias ? [graph.initializer(`${layer.name}/bias`, 'float32', [kernel.dims[0]!], weights.get(layer.name, 'bias').values)] : [])],
          { kernel_shape: [k], dilations: [dilation], strides: [1], pads: [Math.floor(total / 2), total - Math.floor(total / 2)] },
        );
        out = graph.op('Transpose', [activate(layer, conv, config.activation)], { perm: [0, 2, 1] });
        break;
      }
      case MASKED_POOLING: {
        const { real, count } = realMask();
        const mean = graph.op('Div', [graph.op('ReduceSum', [graph.op('Mul', [inputs[0]!, real]), graph.constant('int64', [1])], { keepdims: 0 }), graph.op('Max', [count, graph.constant('float32', [1], [])])]);
        // Pads get a large negative offset so they never win the max; an empty text then gets 0 (as masked-layers.ts).
        const offset = graph.op('Mul', [graph.op('Sub', [real, graph.constant('float32', [1], [])]), graph.constant('float32', [1e9], [])]);
        const max = graph.op('ReduceMax', [graph.op('Add', [inputs[0]!, offset])], { axes: [1], keepdims: 0 });
        const any = graph.op('Cast', [graph.op('Greater', [count, graph.constant('float32', [0], [])])], { to: 1 });
        out = graph.op('Concat', [mean, graph.op('Mul', [max, any])], { axis: 1 });
        break;
      }
      case 'Concatenate':
        out = graph.op('Concat', inputs, { axis: parseConfig(layer, concatConfig).axis });
        break;
      case 'Dense': {
        const config = parseConfig(layer, denseConfig);
        const kernel = weights.get(layer.name, 'kernel');
        let x = graph.op('MatMul', [inputs[0]!, weight(`${layer.name}/kernel`, kernel.shape, kernel.values, 1)]);
        if (config.use_bias) x = graph.op('Add', [x, graph.initializer(`${layer.name}/bias`, 'float32', [kernel.shape[1]!], weights.get(layer.name, 'bias').values)]);
        out = activate(layer, x, config.activation);
        break;
      }
      default:
        unsupported(layer);
    }
    values.set(layer.name, out);
  });
  const last = values.get(layers.at(-1)!.name)!;
  graph.op('Identity', [last], {}, ONNX_OUTPUT);
  return graph.encode({
    input: ONNX_INPUT,
    output: ONNX_OUTPUT,
    classes: info.classes,
    producerVersion: info.producerVersion,
    docString: `kd-pipeline student (${precision}): ${ONNX_INPUT} int64 [batch, sequence] (pad id 0) → ${ONNX_OUTPUT} float32 [batch, classes]; softmax gives probabilities`,
    metadata: info.metadata,
  });
}

function parseConfig<T>(layer: Layer, schema: z.ZodType<T>): T {
  const parsed = schema.safeParse(layer.config);
  if (!parsed.success) unsupported(layer, `config ${parsed.error.issues.map((issue) => `${issue.path.join('.')} (${issue.message})`).join(', ')}`);
  return parsed.data!;
}

function unsupported(layer: Layer, what?: string): never {
  throw new UnsupportedLayerError(
    `export: the ONNX writer does not know layer ${layer.name} (${layer.class_name}${what ? `, ${what}` : ''}); it translates ${ONNX_LAYERS.join(', ')}. ` +
      'export.formats: [tfjs] exports this student',
  );
}
