import path from 'node:path';
import type * as tfTypes from '@tensorflow/tfjs';
import { KdError } from '../errors.js';
import { loadTf, type Tf } from '../ml/backend/backend.js';
import { stepDropoutClass } from '../ml/models/step-dropout.js';
import { maskedLayerClasses } from '../ml/models/masked-layers.js';
import { exportEncoder } from './export-encoder.js';
import { padRows } from '../ml/text/student-input.js';
import { modelFile, type ExportBundle } from './export-bundle.js';
import { onnxStudent, type OnnxStudent } from '../ml/export/onnx/onnx-classifier.js';
import { softmax } from '../ml/evaluate/metrics.js';

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
  const source = path.join(bundle.dir, modelFile('tfjs', bundle.variant));
  if (!bundle.modelJson) throw new KdError(`${source}: missing (this export has no tfjs model)`);
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

/** Probabilities of a batch of texts, flat row-major [texts × labels], from whichever runtime holds the model. */
type Probabilities = (texts: readonly string[]) => Promise<Float32Array>;

/** The export's tfjs model (the fastest backend that loads here: native TensorFlow, or pure JS with our kernels, as for training). */
async function tfjsProbabilities(bundle: ExportBundle): Promise<{ probabilities: Probabilities; dispose: () => void }> {
  const { tf } = await loadTf();
  const model = await loadLayers(tf, bundle);
  try {
    checkShapes(model, bundle);
  } catch (error) {
    model.dispose();
    throw error;
  }
  const encoder = exportEncoder(bundle);
  const width = (model.inputs[0]?.shape[1] as number | null | undefined) ?? null;
  return {
    async probabilities(texts) {
      const { ids, width: w } = padRows(texts.map((text) => encoder.ids(text)), width);
      // The export's output is logits; softmax turns them into the probabilities we answer with.
      const probs = tf.tidy(() => tf.softmax(model.predict(tf.tensor2d(ids, [texts.length, w], 'int32')) as tfTypes.Tensor));
      const flat = (await probs.data()) as Float32Array;
      probs.dispose();
      return flat;
    },
    dispose: () => model.dispose(),
  };
}

/** The export's ONNX file through onnxruntime-node, with the same tokenisation as the tfjs model. */
async function onnxProbabilities(bundle: ExportBundle): Promise<{ probabilities: Probabilities; dispose: () => void }> {
  const source = path.join(bundle.dir, modelFile('onnx', bundle.variant));
  let student: OnnxStudent;
  try {
    student = await onnxStudent(bundle.onnx!);
  } catch (error) {
    throw new KdError(`${source}: cannot be loaded by onnxruntime-node (${(error as Error).message})`);
  }
  const encoder = exportEncoder(bundle);
  return {
    async probabilities(texts) {
      const rows = await student.logits(texts.map((text) => encoder.ids(text)));
      if (rows[0]?.length !== bundle.labels.length) throw new KdError(`${source}: outputs ${rows[0]?.length} logits, but labels.json names ${bundle.labels.length} classes`);
      return Float32Array.from(rows.flatMap((row) => softmax(Array.from(row))));
    },
    dispose: () => void student.release(),
  };
}

/**
 * Builds the model of an export on its runtime and checks that it answers: the output has one
 * logit per label, and a warm-up prediction gives finite probabilities. Anything else is a
 * KdError, so a broken export is refused before it could replace a working one.
 */
export async function loadServingModel(bundle: ExportBundle): Promise<ServingModel> {
  const runtime = bundle.runtime === 'onnx' ? await onnxProbabilities(bundle) : await tfjsProbabilities(bundle);
  try {
    const predict = async (texts: readonly string[]): Promise<Prediction[]> => {
      const flat = await runtime.probabilities(texts);
      return texts.map((_, row) => toPrediction(flat.subarray(row * bundle.labels.length, (row + 1) * bundle.labels.length), bundle.labels));
    };
    const [warmUp] = await predict(['warm up']);
    if (!warmUp || Object.values(warmUp.probabilities).some((p) => !Number.isFinite(p))) {
      throw new KdError(`${bundle.dir}: the model predicts non-finite probabilities`);
    }
    const { name, version, fingerprint } = bundle.metadata;
    return { identity: { name, version, fingerprint }, bundle, predict, dispose: runtime.dispose };
  } catch (error) {
    runtime.dispose();
    throw error;
  }
}

function toPrediction(row: Float32Array, labels: readonly string[]): Prediction {
  let best = 0;
  const probabilities: Record<string, number> = {};
  labels.forEach((label, index) => {
    const p = row[index] ?? 0;
    probabilities[label] = p;
    if (p > (row[best] ?? 0)) best = index;
  });
  return { label: labels[best]!, probabilities };
}
