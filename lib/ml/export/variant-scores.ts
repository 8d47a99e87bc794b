import type * as tfTypes from '@tensorflow/tfjs';
import { KdError } from '../../errors.js';
import { predictProbabilities } from '../evaluate/inference.js';
import { agreement, argmax, classificationReport } from '../evaluate/metrics.js';
import { layersClassifier } from '../models/model-io.js';
import type { TestSet } from '../data/test-set.js';
import type { InputEncoder } from '../text/student-input.js';

export interface VariantScore {
  /** model.json + weights on disk. */
  size_bytes: number;
  accuracy: number;
  f1_macro: number;
  /** Share of test sentences on which it predicts what the float32 export predicts (1 for float32). */
  agreement_float32: number;
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

/** Test-set predictions of the layers model in `dir`, loaded exactly as a consumer of the export would. */
export async function predictDir(dir: string, set: TestSet, batch: number, encoder: InputEncoder): Promise<number[]> {
  const classifier = await layersClassifier(dir, set, encoder);
  try {
    return (await predictProbabilities(classifier, set.inputs, batch)).map((row) => argmax(row));
  } finally {
    await classifier.dispose();
  }
}

/** Accuracy and agreement with the float32 model of every written variant (`float32` must be among them). */
export async function scoreVariants(
  variants: ReadonlyMap<string, { dir: string; sizeBytes: number }>,
  set: TestSet,
  batch: number,
  encoder: InputEncoder,
): Promise<Record<string, VariantScore>> {
  const predictions = new Map<string, number[]>();
  for (const [name, { dir }] of variants) predictions.set(name, await predictDir(dir, set, batch, encoder));
  const reference = predictions.get('float32')!;
  const scores: Record<string, VariantScore> = {};
  for (const [name, { sizeBytes }] of variants) {
    const report = classificationReport(set.y, predictions.get(name)!, set.labels.length);
    scores[name] = { size_bytes: sizeBytes, accuracy: report.accuracy, f1_macro: report.f1_macro, agreement_float32: agreement(reference, predictions.get(name)!) };
  }
  return scores;
}
