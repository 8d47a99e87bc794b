import type * as tfTypes from '@tensorflow/tfjs';
import type { Tf } from '../backend/backend.js';
import { measureLatency, type LatencyResult } from './latency.js';
import { softmax } from './metrics.js';
import type { TestSet } from '../data/test-set.js';

/** Token ids [batch, maxLen] → logits [batch, classes]; a classifier, an ensemble or a bare layers model. */
export type LogitsFn = (ids: tfTypes.Tensor2D) => tfTypes.Tensor2D;

/** Class probabilities for every row of the test set, predicted `batch` rows at a time to bound memory. */
export async function predictProbabilities(tf: Tf, predict: LogitsFn, set: TestSet, batch: number): Promise<number[][]> {
  const probs: number[][] = [];
  for (let start = 0; start < set.rows; start += batch) {
    const n = Math.min(batch, set.rows - start);
    const logits = tf.tidy(() => predict(tf.tensor2d(set.ids.subarray(start * set.maxLen, (start + n) * set.maxLen), [n, set.maxLen], 'int32')));
    const flat = await logits.data();
    const classes = logits.shape[1];
    logits.dispose();
    for (let row = 0; row < n; row++) probs.push(softmax(Array.from(flat.subarray(row * classes, (row + 1) * classes))));
  }
  return probs;
}

/** The first `rows` sentences of the test set, cycling through it when it has fewer. */
function tiledIds(set: TestSet, rows: number): Int32Array {
  const ids = new Int32Array(rows * set.maxLen);
  for (let row = 0; row < rows; row++) ids.set(set.ids.subarray((row % set.rows) * set.maxLen, ((row % set.rows) + 1) * set.maxLen), row * set.maxLen);
  return ids;
}

/**
 * Model latency on the loaded backend: p50/p95 of one test sentence and throughput on batches of
 * `batch` test sentences. Input tensors are built before timing, so this is inference only
 * (tokenisation and encoding excluded); each call reads its result back, or tfjs's lazy
 * execution would time nothing.
 */
export async function timeInference(tf: Tf, predict: LogitsFn, set: TestSet, runs: number, batch: number): Promise<LatencyResult> {
  const one = tf.tensor2d(tiledIds(set, 1), [1, set.maxLen], 'int32');
  const many = tf.tensor2d(tiledIds(set, batch), [batch, set.maxLen], 'int32');
  try {
    // measureLatency asks for exactly 1 sentence (latency) or `batch` sentences (throughput).
    return await measureLatency(async (n) => {
      const logits = predict(n === 1 ? one : many);
      await logits.data();
      logits.dispose();
    }, runs, batch);
  } finally {
    one.dispose();
    many.dispose();
  }
}
