import { describe, expect, it } from 'vitest';
import { measureLatency } from '../../lib/ml/evaluate/latency.js';

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe('measureLatency', () => {
  it('measures single-sentence percentiles and batched throughput of a predictor', async () => {
    const sizes: number[] = [];
    const result = await measureLatency((n) => {
      sizes.push(n);
      busyWait(n === 1 ? 2 : 10);
    }, 20, 50);
    expect(result.p50_ms).toBeGreaterThanOrEqual(2);
    expect(result.p50_ms).toBeLessThan(20);
    expect(result.p95_ms).toBeGreaterThanOrEqual(result.p50_ms);
    // 50 sentences per ~10 ms batch ≈ 5000/s; far below if the batch size were ignored.
    expect(result.throughput_per_s).toBeGreaterThan(1000);
    expect(result.throughput_per_s).toBeLessThan(5001);
    expect(sizes.filter((n) => n === 50)).toHaveLength(4);
  });
});
