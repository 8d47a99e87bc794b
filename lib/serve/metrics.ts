import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ModelIdentity } from './serving-model.js';

/**
 * The server's Prometheus metrics, in a registry of its own (not prom-client's global one), so
 * that several servers in one process (tests) do not share counters.
 */
export class ServeMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'kd_serve_requests_total',
    help: 'HTTP requests answered, by route and status code',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'kd_serve_errors_total',
    help: 'Requests answered with an error, by route and error code',
    labelNames: ['route', 'code'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'kd_serve_request_duration_seconds',
    help: 'Time from request start to the last byte of the answer, by route',
    labelNames: ['route'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly refusedConnections = new Counter({
    name: 'kd_serve_connections_refused_total',
    help: 'Connections closed at once because --max-connections were open',
    registers: [this.registry],
  });
  readonly batchSize = new Histogram({
    name: 'kd_serve_batch_size',
    help: 'Texts per model call (micro-batching gathers concurrent requests into one call)',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [this.registry],
  });
  /** Read at scrape time; the server points it at its batcher. */
  queueDepthSource: () => number = () => 0;
  private readonly queueDepth: Gauge = new Gauge({
    name: 'kd_serve_queue_depth',
    help: 'Texts waiting for a model call',
    registers: [this.registry],
    collect: (): void => this.queueDepth.set(this.queueDepthSource()),
  });
  readonly reloads = new Counter({
    name: 'kd_serve_model_reloads_total',
    help: 'Model reloads, by result (ok: swapped in; refused: broken export, the old model kept serving)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  private readonly modelInfo = new Gauge({
    name: 'kd_serve_model_info',
    help: 'The model being served (value 1)',
    labelNames: ['name', 'version', 'fingerprint'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'kd_serve_' });
    for (const result of ['ok', 'refused']) this.reloads.inc({ result }, 0);
  }

  setModel(identity: ModelIdentity): void {
    this.modelInfo.reset();
    this.modelInfo.set({ ...identity }, 1);
  }
}
