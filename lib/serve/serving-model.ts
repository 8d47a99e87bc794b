import type * as tfTypes from '@tensorflow/tfjs';
import { KdError } from '../errors.js';
import { loadTf, type Tf } from '../ml/backend/backend.js';
import { stepDropoutClass } from '../ml/models/step-dropout.js';
import { maskedLayerClasses } from '../ml/models/masked-layers.js';
import { exportEncoder } from './export-encoder.js';
import { padRows } from '../ml/text/student-input.js';
import type { ExportBundle } from './export-bundle.js';

export interface ModelIdentity {
  name: string;
  version: string;
  fingerprint: string;
}

export interface Prediction {
  label: string;
  probabilities: Record<string, number>;
}

/** A loaded export, ready to predict batches of raw texts. */
export interface ServingModel {
  identity: ModelIdentity;
  bundle: ExportBundle;
  predict(texts: readonly string[]): Promise<Prediction[]>;
  dispose(): void;
}

async function loadLayers(tf: Tf, bundle: ExportBundle): Promise<tfTypes.LayersModel> {
  const source = `${bundle.dir}/${bundle.variant === null ? '' : `${bundle.variant}/`}model.json`;
  try {
    const artifacts = await tf.io.getModelArtifactsForJSON(
      bundle.modelJson as unknown as tfTypes.io.ModelJSON,
      async (manifest) => [
        tf.io.getWeightSpecs(manifest),
        tf.io.CompositeArrayBuffer.join([...bundle.weights.values()].map((bytes) => new Uint8Array(bytes).buffer)),
      ],
    );
    // Teachers trained here carry our dropout layer, students our masked layers; they must be known to load them.
    stepDropoutClass(tf);
    maskedLayerClasses(tf);
    return await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (error) {
    throw new KdError(`${source}: cannot be loaded as a tfjs layers model (${(error as Error).message})`);
  }
}

function checkShapes(model: tfTypes.LayersModel, bundle: ExportBundle): void {
  const input = model.inputs[0]?.shape;
  const length = input?.[1];
  if (model.inputs.length !== 1 || input?.length !== 2 || (length !== null && length !== bundle.preprocessing.max_len)) {
    throw new KdError(
      `${bundle.dir}: model.json takes input shape ${JSON.stringify(input)} but preprocessing.json has max_len ${bundle.preprocessing.max_len}`,
    );
  }
  const shape = model.outputs[0]?.shape;
  const classes = shape?.[shape.length - 1];
  if (model.outputs.length !== 1 || shape?.length !== 2 || classes !== bundle.labels.length) {
    throw new KdError(
      `${bundle.dir}: model.json outputs shape ${JSON.stringify(shape)} but labels.json names ${bundle.labels.length} classes`,
    );
  }
}

/**
 * Builds the model of an export and checks that it answers: the output has one logit per label,
 * and a warm-up prediction gives finite probabilities. Anything else is a KdError, so a broken
 * export is refused before it could replace a working one.
 */
export async function loadServingModel(bundle: ExportBundle): Promise<ServingModel> {
  // The fastest backend that loads here (native TensorFlow, or pure JS with our kernels), as for training.
  const { tf } = await loadTf();
  const model = await loadLayers(tf, bundle);
  try {
    checkShapes(model, bundle);
    const encoder = exportEncoder(bundle);
    const width = (model.inputs[0]?.shape[1] as number | null | undefined) ?? null;
    const predict = async (texts: readonly string[]): Promise<Prediction[]> => {
      const { ids, width: w } = padRows(texts.map((text) => encoder.ids(text)), width);
      // The export's output is logits; softmax turns them into the probabilities we answer with.
      const probs = tf.tidy(() => tf.softmax(model.predict(tf.tensor2d(ids, [texts.length, w], 'int32')) as tfTypes.Tensor));
      const flat = await probs.data();
      probs.dispose();
      return texts.map((_, row) => toPrediction(flat.subarray(row * bundle.labels.length, (row + 1) * bundle.labels.length), bundle.labels));
    };
    const [warmUp] = await predict(['warm up']);
    if (!warmUp || Object.values(warmUp.probabilities).some((p) => !Number.isFinite(p))) {
      throw new KdError(`${bundle.dir}: the model predicts non-finite probabilities`);
    }
    const { name, version, fingerprint } = bundle.metadata;
    return { identity: { name, version, fingerprint }, bundle, predict, dispose: () => model.dispose() };
  } catch (error) {
    model.dispose();
    throw error;
  }
}

function toPrediction(row: Float32Array | Int32Array | Uint8Array, labels: readonly string[]): Prediction {
  let best = 0;
  const probabilities: Record<string, number> = {};
  labels.forEach((label, index) => {
    const p = row[index] ?? 0;
    probabilities[label] = p;
    if (p > (row[best] ?? 0)) best = index;
  });
  return { label: labels[best]!, probabilities };
}
