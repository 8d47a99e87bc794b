import { percentile } from './metrics.js';

export interface LatencyResult {
  p50_ms: number;
  p95_ms: number;
  /** Sentences per second when predicting batches of `batch`. */
  throughput_per_s: number;
}

/**
 * Times `predict(n)` (which must finish its work synchronously or return a promise that settles
 * when the result is read back): `runs` single-sentence calls for p50/p95 after a few warm-up calls,
 * then batched calls for throughput.
 */
export async function measureLatency(predict: (n: number) => unknown, runs: number, batch: number): Promise<LatencyResult> {
  for (let i = 0; i < 3; i++) await predict(1);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await predict(1);
    times.push(performance.now() - start);
  }
  await predict(batch);
  const batches = 3;
  const start = performance.now();
  for (let i = 0; i < batches; i++) await predict(batch);
  const seconds = (performance.now() - start) / 1000;
  return { p50_ms: percentile(times, 50), p95_ms: percentile(times, 95), throughput_per_s: (batches * batch) / seconds };
}
