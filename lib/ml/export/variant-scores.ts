import type * as tfTypes from '@tensorflow/tfjs';
import { KdError } from '../../errors.js';
import { predictProbabilities, timeInference } from '../evaluate/inference.js';
import { agreement, argmax, classificationReport } from '../evaluate/metrics.js';
import { layersClassifier, type Classifier } from '../models/model-io.js';
import type { TestSet } from '../data/test-set.js';
import type { InputEncoder } from '../text/student-input.js';

export interface VariantScore {
  /** Its files on disk: model.json + weights, or the .onnx file. */
  size_bytes: number;
  accuracy: number;
  f1_macro: number;
  /** Share of test sentences on which it predicts what the float32 tfjs model predicts (1 for float32). */
  agreement_float32: number;
  /** One sentence, p50 over a few timed calls (tfjs: the fastest tfjs backend here; ONNX: onnxruntime-node). */
  latency_p50_ms: number;
}

/**
 * A model fits the export only if it reads `max_len` token ids and writes one logit per label:
 * otherwise the server and `predict` would refuse it (a student trained with other params).
 */
export function checkModelIo(model: tfTypes.LayersModel, set: TestSet, source: string): void {
  const input = model.inputs[0]?.shape;
  const output = model.outputs[0]?.shape;
  if (input?.length !== 2 || (input[1] !== null && input[1] !== set.maxLen)) {
    throw new KdError(`${source}: takes input shape ${JSON.stringify(input)}, but params.yaml text.max_len is ${set.maxLen}`);
  }
  if (output?.length !== 2 || output[1] !== set.labels.length) {
    throw new KdError(`${source}: outputs shape ${JSON.stringify(output)}, but labels.json names ${set.labels.length} classes`);
  }
}

/** Single-sentence calls timed per variant for the model card's latency (after 3 warm-up calls). */
const LATENCY_RUNS = 30;

/** A written variant: its bytes on disk and how a consumer loads it (tfjs from its folder, ONNX through onnxruntime-node). */
export interface WrittenVariant {
  sizeBytes: number;
  load: () => Promise<Classifier>;
}

/** Test-set predictions and single-sentence p50 latency of one loaded classifier, disposed afterwards. */
async function predictAndTime(load: () => Promise<Classifier>, set: TestSet, batch: number): Promise<{ predictions: number[]; p50: number }> {
  const classifier = await load();
  try {
    const predictions = (await predictProbabilities(classifier, set.inputs, batch)).map((row) => argmax(row));
    const { p50_ms } = await timeInference(classifier, set.inputs, LATENCY_RUNS, 1);
    return { predictions, p50: p50_ms };
  } finally {
    await classifier.dispose();
  }
}

/**
 * Accuracy, agreement with the float32 tfjs model (`reference`: the trained student as tfjs loads
 * it, whether or not the tfjs format is written) and single-sentence latency of every written variant.
 */
export async function scoreVariants(variants: ReadonlyMap<string, WrittenVariant>, reference: () => Promise<Classifier>, set: TestSet, batch: number): Promise<Record<string, VariantScore>> {
  const { predictions: expected } = await predictAndTime(reference, set, batch);
  const scores: Record<string, VariantScore> = {};
  for (const [name, { sizeBytes, load }] of variants) {
    const { predictions, p50 } = await predictAndTime(load, set, batch);
    const report = classificationReport(set.y, predictions, set.labels.length);
    scores[name] = { size_bytes: sizeBytes, accuracy: report.accuracy, f1_macro: report.f1_macro, agreement_float32: agreement(expected, predictions), latency_p50_ms: p50 };
  }
  return scores;
}

/** A tfjs export folder loaded exactly as a consumer of the export would. */
export const tfjsVariant = (dir: string, sizeBytes: number, set: TestSet, encoder: InputEncoder): WrittenVariant => ({ sizeBytes, load: () => layersClassifier(dir, set, encoder) });
