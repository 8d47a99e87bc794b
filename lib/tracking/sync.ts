import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { StageEndInfo } from '../pipeline/events.js';
import { flatMetrics, type MetricsByFile } from '../pipeline/metrics-values.js';
import { isAbsent, readFailure } from '../read-file.js';
import { type KeyValue, type Metric, MlflowClient, MlflowError, type MlflowRun } from './client.js';
import type { TrackingConfig } from './config.js';
import { runFinalMetrics, type JournaledRun, type MetricPoint } from './journal.js';

/** Artifacts logged per stage are capped; what does not fit is listed in the `kd.artifacts_skipped` tag. */
export const ARTIFACT_CAP_BYTES = 200 * 1024 * 1024;
const PARAM_VALUE_MAX = 6000;

export interface SyncReport {
  runsCreated: number;
  stageRunsCreated: number;
  modelVersions: string[];
  warnings: string[];
}

const ms = (iso: string) => new Date(iso).getTime();

function paramList(params: Record<string, unknown>, prefix = '', out: KeyValue[] = []): KeyValue[] {
  for (const [k, v] of Object.entries(params)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) paramList(v as Record<string, unknown>, key, out);
    else out.push({ key: key.slice(0, 250), value: (typeof v === 'string' ? v : JSON.stringify(v)).slice(0, PARAM_VALUE_MAX) });
  }
  return out;
}

export const tagFilter = (key: string, value: string) => `tags.\`${key}\` = '${value.replace(/'/g, "\\'")}'`;
const tagOf = (run: MlflowRun, key: string) => run.data.tags.find((t) => t.key === key)?.value;

/** Replays journaled runs to the server idempotently: runs are found again by their `kd.run_id` tag. */
export class Syncer {
  private readonly report: SyncReport = { runsCreated: 0, stageRunsCreated: 0, modelVersions: [], warnings: [] };
  private experimentId?: string;

  constructor(
    private readonly root: string,
    private readonly cfg: TrackingConfig & { uri: string },
    private readonly client = new MlflowClient({ uri: cfg.uri }),
  ) {}

  async syncAll(runs: JournaledRun[]): Promise<SyncReport> {
    for (const run of runs) await this.syncRun(run);
    return this.report;
  }

  private async experiment(): Promise<string> {
    this.experimentId ??= await this.client.getOrCreateExperiment(this.cfg.experiment);
    return this.experimentId;
  }

  private async findRuns(kdRunId: string): Promise<MlflowRun[]> {
    return this.client.searchRuns(await this.experiment(), tagFilter('kd.run_id', kdRunId));
  }

  /** A param MLflow refuses to change is reported, not fatal: retried one by one to find it. */
  private async logParams(runId: string, params: KeyValue[]): Promise<void> {
    try {
      await this.client.logBatch(runId, { params });
    } catch (error) {
      if (!(error instanceof MlflowError && error.code === 'INVALID_PARAMETER_VALUE')) throw error;
      for (const p of params) {
        try {
          await this.client.logBatch(runId, { params: [p] });
        } catch (e) {
          if (!(e instanceof MlflowError && e.code === 'INVALID_PARAMETER_VALUE')) throw e;
          this.report.warnings.push(`param ${p.key}: MLflow refused the value ${JSON.stringify(p.value)} (${e.message})`);
        }
      }
    }
  }

  async syncRun(run: JournaledRun): Promise<void> {
    const { start } = run;
    const existing = await this.findRuns(start.runId);
    let parent = existing.find((r) => tagOf(r, 'kd.stage') === undefined);
    // A trial nests under its sweep's run; `mlflow sync` adds the link if the sweep was not delivered yet.
    const sweep = start.parentRunId ? (await this.findRuns(start.parentRunId)).find((r) => tagOf(r, 'kd.stage') === undefined) : undefined;
    const backend = run.stages.map((s) => s.end?.tags['kd.backend']).find(Boolean);
    const tags: KeyValue[] = [
      { key: 'kd.run_id', value: start.runId },
      { key: 'kd.pipeline_fingerprint', value: start.pipelineFingerprint },
      { key: 'mlflow.user', value: start.user },
      { key: 'mlflow.source.name', value: `kd-pipeline ${start.argv.join(' ')}`.trim() },
      { key: 'mlflow.source.type', value: 'LOCAL' },
      ...(start.gitCommit ? [{ key: 'mlflow.source.git.commit', value: start.gitCommit }] : []),
      ...(backend ? [{ key: 'kd.backend', value: backend }] : []),
      ...Object.entries(start.tags ?? {}).map(([key, value]) => ({ key, value })),
      ...(sweep ? [{ key: 'mlflow.parentRunId', value: sweep.info.run_id }] : []),
    ];
    if (!parent) {
      parent = await this.client.createRun(await this.experiment(), start.runName ?? `pipeline ${start.startedAt}`, ms(start.startedAt), tags);
      this.report.runsCreated++;
    }
    await this.client.logBatch(parent.info.run_id, { tags });
    await this.logParams(parent.info.run_id, paramList(start.params));

    for (const stage of run.stages) {
      if (stage.end && stage.end.result !== 'not-run') await this.syncStage(parent, existing, stage.end, stage.metrics, stage.final ?? {});
    }
    if (run.end) {
      await this.logFinalMetrics(parent, run);
      await this.client.updateRun(parent.info.run_id, run.end.status, ms(run.end.endedAt));
    }
  }

  /**
   * The pipeline's own run carries the final value of every metrics file (under the keys of
   * `metrics show`), restored and up-to-date stages included, so MLflow's runs table and compare
   * views compare whole pipelines. Logged once (metric points are not idempotent).
   */
  private async logFinalMetrics(parent: MlflowRun, run: JournaledRun): Promise<void> {
    if (tagOf(parent, 'kd.metrics_logged') === 'true') return;
    const flat = runFinalMetrics(run);
    const timestamp = ms(run.end?.endedAt ?? run.start.startedAt);
    const metrics: Metric[] = Object.entries(flat).map(([key, value]) => ({ key, value, step: 0, timestamp }));
    if (metrics.length > 0) await this.client.logBatch(parent.info.run_id, { metrics });
    await this.client.logBatch(parent.info.run_id, { tags: [{ key: 'kd.metrics_logged', value: 'true' }] });
  }

  /** Metric points are not idempotent in MLflow, so a child run counts only once it carries `kd.delivered`; a half-delivered one is replaced. */
  private async syncStage(parent: MlflowRun, existing: MlflowRun[], end: StageEndInfo, points: MetricPoint[], final: MetricsByFile): Promise<void> {
    const prior = existing.filter((r) => tagOf(r, 'kd.stage') === end.stage);
    if (prior.some((r) => tagOf(r, 'kd.delivered') === 'true')) return;
    for (const r of prior) await this.client.deleteRun(r.info.run_id);

    const tags: KeyValue[] = [
      { key: 'mlflow.parentRunId', value: parent.info.run_id },
      { key: 'kd.run_id', value: end.runId },
      { key: 'kd.stage', value: end.stage },
      { key: 'kd.result', value: end.result },
      { key: 'kd.fingerprint', value: end.fingerprint },
      { key: 'kd.seconds', value: String(end.seconds) },
      ...Object.entries(end.tags).map(([key, value]) => ({ key, value })),
      ...(end.error ? [{ key: 'kd.error', value: end.error.slice(0, 5000) }] : []),
    ];
    if (end.producedByRunId) {
      tags.push({ key: 'kd.produced_by_kd_run', value: end.producedByRunId });
      const producer = (await this.findRuns(end.producedByRunId)).find((r) => tagOf(r, 'kd.stage') === end.stage);
      if (producer) tags.push({ key: 'kd.produced_by_run', value: producer.info.run_id });
    }
    const startTime = ms(end.endedAt) - Math.round(end.seconds * 1000);
    const child = await this.client.createRun(await this.experiment(), end.stage, startTime, tags);
    this.report.stageRunsCreated++;
    const id = child.info.run_id;
    await this.logParams(id, paramList(end.params));
    const now = ms(end.endedAt);
    // The stage's metrics files under the pipeline run's keys (flatMetrics), then its per-epoch history.
    const metrics: Metric[] = Object.entries(flatMetrics(final)).map(([key, value]) => ({ key, value, step: 0, timestamp: now }));
    metrics.push(...points.map((p) => ({ ...p, timestamp: now })));
    metrics.push({ key: 'duration_seconds', value: end.seconds, step: 0, timestamp: now });
    await this.client.logBatch(id, { metrics });

    if (end.result === 'ran' || end.result === 'failed') {
      const files = [...(end.result === 'ran' ? end.outs : []), ...(end.logFile ? [end.logFile] : [])];
      const skipped = await this.uploadAll(child, files);
      if (skipped.length) await this.client.logBatch(id, { tags: [{ key: 'kd.artifacts_skipped', value: skipped.join(', ').slice(0, 5000) }] });
    }
    const modelDir = end.tags['kd.register_model'] ?? (end.stage === 'export' ? end.outs[0] : undefined);
    if (end.result === 'ran' && modelDir) {
      const source = `${child.info.artifact_uri}/${modelDir}`;
      this.report.modelVersions.push(`${this.cfg.registeredModel} v${await this.client.createModelVersion(this.cfg.registeredModel, source, id)}`);
    }
    await this.client.updateRun(id, end.result === 'failed' ? 'FAILED' : 'FINISHED', ms(end.endedAt));
    await this.client.logBatch(id, { tags: [{ key: 'kd.delivered', value: 'true' }] });
  }

  /** Files and directories (recursively) under their project-relative path; returns what the cap left out. */
  private async uploadAll(run: MlflowRun, paths: string[]): Promise<string[]> {
    const files: string[] = [];
    const walk = async (rel: string): Promise<void> => {
      const info = await stat(join(this.root, rel)).catch((error: unknown) => {
        if (isAbsent(error)) return undefined; // not produced (a failed stage): nothing to upload
        throw readFailure(rel, error);
      });
      if (info?.isDirectory()) for (const e of await readdir(join(this.root, rel))) await walk(`${rel}/${e}`);
      else if (info?.isFile()) files.push(rel);
    };
    for (const p of paths) await walk(p);
    let budget = ARTIFACT_CAP_BYTES;
    const skipped: string[] = [];
    for (const rel of files) {
      const data = await readFile(join(this.root, rel));
      if (data.length > budget) {
        skipped.push(rel);
        continue;
      }
      budget -= data.length;
      await this.client.uploadArtifact(run.info.artifact_uri, rel, data);
    }
    return skipped;
  }
}
