import { percentile } from './metrics.js';

export interface LatencyResult {
  p50_ms: number;
  p95_ms: number;
  /** The tfjs backend the single-sentence percentiles were measured on (the fastest of those tried). */
  backend: string;
  /** Sentences per second when predicting batches of `batch`. */
  throughput_per_s: number;
}

/** Switches the process to one tfjs backend for the calls that follow. */
export type UseBackend = (backend: string) => Promise<void>;

export interface LatencyOptions {
  /** Single-sentence calls timed per backend, after a few warm-up calls. */
  runs: number;
  /** Sentences per batched call when timing throughput. */
  batch: number;
  /** The backends to time single sentences on, and how to switch to one; throughput runs on `backends[0]`. */
  backends: readonly string[];
  useBackend: UseBackend;
}

async function singleSentence(predict: (n: number) => unknown, runs: number): Promise<{ p50_ms: number; p95_ms: number }> {
  for (let i = 0; i < 3; i++) await predict(1);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await predict(1);
    times.push(performance.now() - start);
  }
  return { p50_ms: percentile(times, 50), p95_ms: percentile(times, 95) };
}

/**
 * Times `predict(n)` (which must finish its work synchronously or return a promise that settles
 * when the result is read back): `runs` single-sentence calls for p50/p95 on each backend, keeping
 * the fastest — a small model's one sentence is mostly per-op overhead, which pure JS pays less of
 * than the native bindings, while batches favour native kernels — then batched calls for throughput
 * on the first backend. The process is left on the first backend.
 */
export async function measureLatency(predict: (n: number) => unknown, options: LatencyOptions): Promise<LatencyResult> {
  const [first, ...others] = options.backends;
  if (first === undefined) throw new Error('measureLatency: no backend to measure on');
  let best = { ...(await singleSentence(predict, options.runs)), backend: first };
  try {
    for (const backend of others) {
      await options.useBackend(backend);
      const measured = await singleSentence(predict, options.runs);
      if (measured.p50_ms < best.p50_ms) best = { ...measured, backend };
    }
  } finally {
    if (others.length > 0) await options.useBackend(first);
  }
  await predict(options.batch);
  const batches = 3;
  const start = performance.now();
  for (let i = 0; i < batches; i++) await predict(options.batch);
  const seconds = (performance.now() - start) / 1000;
  return { ...best, throughput_per_s: (batches * options.batch) / seconds };
}
