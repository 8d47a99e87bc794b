import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { measureLatency } from '../../lib/ml/evaluate/latency.js';

// A predictor that takes exactly `ms` on a faked performance.now(): the measurement is checked
// without depending on how loaded the machine is.
function busyWait(ms: number): void {
  vi.advanceTimersByTime(ms);
}

describe('measureLatency', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('measures single-sentence percentiles and batched throughput of a predictor', async () => {
    const sizes: number[] = [];
    const result = await measureLatency((n) => {
      sizes.push(n);
      busyWait(n === 1 ? 2 : 10);
    }, { runs: 20, batch: 50, backends: ['only'], useBackend: async () => {} });
    expect(result.p50_ms).toBeGreaterThanOrEqual(2);
    expect(result.p50_ms).toBeLessThan(20);
    expect(result.p95_ms).toBeGreaterThanOrEqual(result.p50_ms);
    // 50 sentences per ~10 ms batch ≈ 5000/s; far below if the batch size were ignored.
    expect(result.throughput_per_s).toBeGreaterThan(1000);
    expect(result.throughput_per_s).toBeLessThan(5001);
    expect(sizes.filter((n) => n === 50)).toHaveLength(4);
    expect(result.backend).toBe('only');
  });

  it('keeps the backend with the fastest single sentence, times throughput on the first and returns to it', async () => {
    let current = 'native';
    const switches: string[] = [];
    const batchedOn: string[] = [];
    const result = await measureLatency((n) => {
      if (n > 1) batchedOn.push(current);
      busyWait(n > 1 ? 5 : current === 'js' ? 1 : 4);
    }, { runs: 15, batch: 20, backends: ['native', 'js'], useBackend: async (name) => { switches.push(name); current = name; } });
    expect(result.backend).toBe('js');
    expect(result.p50_ms).toBeLessThan(4);
    expect(switches).toEqual(['js', 'native']);
    expect(new Set(batchedOn)).toEqual(new Set(['native']));
  });
});
