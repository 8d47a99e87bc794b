import type { Classifier, ClassifierInput } from '../models/model-io.js';
import { loadTf } from '../backend/backend.js';
import { measureLatency, type LatencyResult } from './latency.js';
import { softmax } from './metrics.js';

/** Class probabilities for every input, predicted `batch` inputs at a time to bound memory. */
export async function predictProbabilities(classifier: Classifier, inputs: readonly ClassifierInput[], batch: number): Promise<number[][]> {
  const probs: number[][] = [];
  for (let start = 0; start < inputs.length; start += batch) {
    for (const logits of await classifier.predictLogits(inputs.slice(start, start + batch))) probs.push(softmax(logits));
  }
  return probs;
}

/** The first `rows` inputs, cycling through them when there are fewer. */
function tiled(inputs: readonly ClassifierInput[], rows: number): ClassifierInput[] {
  return Array.from({ length: rows }, (_, row) => inputs[row % inputs.length]!);
}

/**
 * Model latency: p50/p95 of one test sentence on each tfjs backend registered in this process (the
 * loaded one first; the native package also registers pure-JS `cpu`), the fastest kept, and
 * throughput on batches of `batch` test sentences on the loaded backend — from a tokenised sentence
 * to its logits read back, so a transformer's own sub-word tokenisation and pooling count, and no
 * embedding cache is used. A classifier with its own runtime (ONNX) is timed there only.
 */
export async function timeInference(classifier: Classifier, inputs: readonly ClassifierInput[], runs: number, batch: number): Promise<LatencyResult> {
  const { tf } = await loadTf();
  const loaded = tf.getBackend();
  const backends = classifier.runtime ? [classifier.runtime] : [loaded, ...Object.keys(tf.engine().registryFactory).filter((name) => name !== loaded).sort()];
  const one = tiled(inputs, 1);
  const many = tiled(inputs, batch);
  // measureLatency asks for exactly 1 sentence (latency) or `batch` sentences (throughput).
  return measureLatency((n) => classifier.predictLogits(n === 1 ? one : many, { cached: false }), {
    runs,
    batch,
    backends,
    useBackend: async (name) => {
      await tf.setBackend(name);
    },
  });
}
