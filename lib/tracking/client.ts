import { z } from 'zod';

/** A typed client over the MLflow REST API (`/api/2.0/mlflow/...`), every response validated. */
export class MlflowError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number,
  ) {
    super(message);
  }
}

const errorBody = z.object({ error_code: z.string(), message: z.string().default('') });
const tagList = z.array(z.object({ key: z.string(), value: z.string().default('') })).default([]);
const runSchema = z.object({
  info: z.object({ run_id: z.string(), artifact_uri: z.string(), status: z.string().optional() }).loose(),
  data: z.object({ tags: tagList }).loose().default({ tags: [] }),
});
export type MlflowRun = z.infer<typeof runSchema>;

export interface Metric {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}
export interface KeyValue {
  key: string;
  value: string;
}

/** The experiment's type as the MLflow 3 UI shows it (GenAI or custom model development). */
export const EXPERIMENT_KIND_TAG = 'mlflow.experimentKind';
export const TRAINING_EXPERIMENT_KIND = 'custom_model_development';

/**
 * The MLflow UI's runs table of an experiment. The UI opens experiments in the mode the browser last
 * chose, GenAI by default (a traces overview, no runs table); `workflowType` chooses model training.
 */
export function runsViewUrl(uri: string, experimentId: string): string {
  return `${uri}/#/experiments/${experimentId}/runs?workflowType=machine_learning`;
}

/** Per-call limits of runs/log-batch. */
export const BATCH_LIMITS = { metrics: 1000, params: 100, tags: 100, items: 1000 } as const;

export interface ClientOptions {
  uri: string;
  /** Wall-clock deadline (ms since epoch) after which no retry is attempted. */
  deadline?: number;
  timeoutMs?: number;
}

function authHeader(): Record<string, string> {
  const { MLFLOW_TRACKING_TOKEN: token, MLFLOW_TRACKING_USERNAME: user, MLFLOW_TRACKING_PASSWORD: pass } = process.env;
  if (token) return { authorization: `Bearer ${token}` };
  if (user && pass) return { authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` };
  return {};
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class MlflowClient {
  constructor(private readonly opts: ClientOptions) {}

  /** Retries with back-off on 429/5xx and network errors, never past the deadline. */
  private async request(method: string, path: string, body?: unknown, raw?: Buffer): Promise<unknown> {
    const url = `${this.opts.uri}${path}`;
    for (let attempt = 0; ; attempt++) {
      let retryable: Error;
      try {
        const res = await fetch(url, {
          method,
          headers: { ...authHeader(), 'content-type': raw ? 'application/octet-stream' : 'application/json' },
          body: raw ? new Uint8Array(raw) : (body === undefined ? undefined : JSON.stringify(body)),
          signal: AbortSignal.timeout(this.opts.timeoutMs ?? 15_000),
        });
        const text = await res.text();
        if (res.ok) return text === '' ? {} : JSON.parse(text);
        const parsed = errorBody.safeParse(safeJson(text));
        const err = new MlflowError(
          `MLflow ${method} ${path}: ${res.status} ${parsed.success ? `${parsed.data.error_code}: ${parsed.data.message}` : text.slice(0, 200)}`,
          parsed.success ? parsed.data.error_code : 'HTTP_ERROR',
          res.status,
        );
        if (res.status !== 429 && res.status < 500) throw err;
        retryable = err;
      } catch (error) {
        if (error instanceof MlflowError && error.status !== 429 && error.status < 500) throw error;
        retryable = error as Error;
      }
      const wait = 250 * 2 ** attempt;
      if (attempt >= 3 || Date.now() + wait > (this.opts.deadline ?? Infinity)) throw retryable;
      await sleep(wait);
    }
  }

  private post(endpoint: string, body: unknown) {
    return this.request('POST', `/api/2.0/mlflow/${endpoint}`, body);
  }

  async health(): Promise<boolean> {
    try {
      const res = await fetch(`${this.opts.uri}/health`, { headers: authHeader(), signal: AbortSignal.timeout(this.opts.timeoutMs ?? 3000) });
      return res.ok;
    } catch {
      return false;
    }
  }

  /**
   * The experiment's id, created if need be, tagged as a model-training experiment
   * (`mlflow.experimentKind`, the type the MLflow 3 UI shows).
   */
  async getOrCreateExperiment(name: string): Promise<string> {
    const kind = { key: EXPERIMENT_KIND_TAG, value: TRAINING_EXPERIMENT_KIND };
    try {
      const got = await this.request('GET', `/api/2.0/mlflow/experiments/get-by-name?experiment_name=${encodeURIComponent(name)}`);
      const { experiment } = z.object({ experiment: z.object({ experiment_id: z.string(), tags: tagList }) }).parse(got);
      if (!experiment.tags.some((t) => t.key === kind.key)) await this.post('experiments/set-experiment-tag', { experiment_id: experiment.experiment_id, ...kind });
      return experiment.experiment_id;
    } catch (error) {
      if (!(error instanceof MlflowError && error.code === 'RESOURCE_DOES_NOT_EXIST')) throw error;
    }
    return z.object({ experiment_id: z.string() }).parse(await this.post('experiments/create', { name, tags: [kind] })).experiment_id;
  }

  async createRun(experimentId: string, runName: string, startTime: number, tags: KeyValue[]): Promise<MlflowRun> {
    const res = await this.post('runs/create', { experiment_id: experimentId, run_name: runName, start_time: startTime, tags });
    return z.object({ run: runSchema }).parse(res).run;
  }

  async searchRuns(experimentId: string, filter: string): Promise<MlflowRun[]> {
    const runs: MlflowRun[] = [];
    let pageToken: string | undefined;
    do {
      const res = z
        .object({ runs: z.array(runSchema).default([]), next_page_token: z.string().optional() })
        .parse(await this.post('runs/search', { experiment_ids: [experimentId], filter, max_results: 1000, page_token: pageToken }));
      runs.push(...res.runs);
      pageToken = res.next_page_token || undefined;
    } while (pageToken);
    return runs;
  }

  /** Splits into calls within MLflow's per-call limits. */
  async logBatch(runId: string, batch: { metrics?: Metric[]; params?: KeyValue[]; tags?: KeyValue[] }): Promise<void> {
    const metrics = [...(batch.metrics ?? [])];
    const params = [...(batch.params ?? [])];
    const tags = [...(batch.tags ?? [])];
    while (metrics.length || params.length || tags.length) {
      const p = params.splice(0, BATCH_LIMITS.params);
      const t = tags.splice(0, BATCH_LIMITS.tags);
      const m = metrics.splice(0, BATCH_LIMITS.items - p.length - t.length);
      await this.post('runs/log-batch', { run_id: runId, metrics: m, params: p, tags: t });
    }
  }

  async updateRun(runId: string, status: string, endTime: number): Promise<void> {
    await this.post('runs/update', { run_id: runId, status, end_time: endTime });
  }

  async deleteRun(runId: string): Promise<void> {
    await this.post('runs/delete', { run_id: runId });
  }

  /** Through the server's artifact proxy; `artifactUri` is the run's `mlflow-artifacts:/…` URI. */
  async uploadArtifact(artifactUri: string, relPath: string, data: Buffer): Promise<void> {
    const base = artifactUri.replace(/^mlflow-artifacts:\/*/, '');
    const path = `${base}/${relPath}`.split('/').map(encodeURIComponent).join('/');
    await this.request('PUT', `/api/2.0/mlflow-artifacts/artifacts/${path}`, undefined, data);
  }

  async downloadArtifact(artifactUri: string, relPath: string): Promise<Buffer> {
    const base = artifactUri.replace(/^mlflow-artifacts:\/*/, '');
    const res = await fetch(`${this.opts.uri}/api/2.0/mlflow-artifacts/artifacts/${base}/${relPath}`, { headers: authHeader() });
    if (!res.ok) throw new MlflowError(`download ${relPath}: ${res.status}`, 'HTTP_ERROR', res.status);
    return Buffer.from(await res.arrayBuffer());
  }

  async getMetricHistory(runId: string, key: string): Promise<Metric[]> {
    const res = await this.request('GET', `/api/2.0/mlflow/metrics/get-history?run_id=${runId}&metric_key=${encodeURIComponent(key)}`);
    return z
      .object({ metrics: z.array(z.object({ key: z.string(), value: z.number(), timestamp: z.coerce.number(), step: z.coerce.number().default(0) })).default([]) })
      .parse(res).metrics;
  }

  async createModelVersion(name: string, source: string, runId: string): Promise<string> {
    try {
      await this.post('registered-models/create', { name });
    } catch (error) {
      if (!(error instanceof MlflowError && error.code === 'RESOURCE_ALREADY_EXISTS')) throw error;
    }
    const res = await this.post('model-versions/create', { name, source, run_id: runId });
    return z.object({ model_version: z.object({ version: z.coerce.string() }) }).parse(res).model_version.version;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
