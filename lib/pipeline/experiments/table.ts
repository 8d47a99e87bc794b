import { isDeepStrictEqual } from 'node:util';
import { flatMetrics, workspaceMetrics } from '../metrics-values.js';
import { projectPaths } from '../project.js';
import { getDotted, loadPipeline, PARAMS_FILE } from '../spec.js';
import { projectStatus } from '../status.js';
import type { StageResult } from '../events.js';
import { listSweeps, sweepTrials, type TrialRecord } from './store.js';
import { KdError } from '../../errors.js';

/** One row of `exp show` (the `--json` contract), plus the trial's wall time. */
export interface ExperimentRow {
  id: string;
  sweep: string;
  status: 'ok' | 'failed' | 'running';
  params: Record<string, unknown>;
  metrics: Record<string, number>;
  stages: Record<string, StageResult>;
  seconds: number | null;
}

export type SortOrder = 'asc' | 'desc';

/** Lower is better for losses, errors, latencies, sizes and times; higher for everything else. */
export function defaultOrder(key: string): SortOrder {
  return /loss|error|latency|_ms|bytes|size|seconds|time/i.test(key) ? 'asc' : 'desc';
}

const valueAt = (row: Pick<ExperimentRow, 'params' | 'metrics'>, key: string): unknown => (key in row.metrics ? row.metrics[key] : row.params[key]);

/** Rows ordered by a metric or param (rows without it last); the workspace row stays first. */
export function sortRows<T extends Pick<ExperimentRow, 'id' | 'params' | 'metrics'>>(rows: T[], key: string, order: SortOrder = defaultOrder(key)): T[] {
  const sign = order === 'asc' ? 1 : -1;
  const rank = (row: T) => (row.id === 'workspace' ? 0 : valueAt(row, key) === undefined ? 2 : 1);
  return [...rows].sort((a, b) => {
    const byRank = rank(a) - rank(b);
    if (byRank !== 0 || rank(a) !== 1) return byRank;
    const [x, y] = [valueAt(a, key), valueAt(b, key)];
    return sign * (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y)));
  });
}

export function trialRow(trial: TrialRecord): ExperimentRow {
  return { id: trial.id, sweep: trial.sweep, status: trial.status, params: trial.params, metrics: flatMetrics(trial.metrics), stages: trial.stages, seconds: trial.seconds };
}

/**
 * `exp show`: the workspace (its values of the swept keys, its metrics files, and per stage
 * `skipped` when up to date, `not-run` when it would run) and every trial of the sweep (or all sweeps).
 */
export async function experimentRows(cwd: string, sweep?: string): Promise<ExperimentRow[]> {
  const status = await projectStatus(cwd);
  const paths = projectPaths(status.root);
  const sweeps = listSweeps(paths).filter((s) => sweep === undefined || s.name === sweep);
  if (sweep !== undefined && sweeps.length === 0) throw new KdError(`exp show: no sweep named '${sweep}' (\`kd-pipeline exp show\` lists them)`);
  const trials = sweeps.flatMap((s) => sweepTrials(paths, s.name).map((t) => trialRow(t.record)));
  const keys = [...new Set(sweeps.flatMap((s) => s.axes.map((a) => a.key)))];
  const params = loadPipeline(status.root).paramsFiles[PARAMS_FILE] ?? {};
  const workspace: ExperimentRow = {
    id: 'workspace',
    sweep: '',
    status: 'ok',
    params: Object.fromEntries(keys.map((key) => [key, getDotted(params, key) ?? null])),
    metrics: flatMetrics(workspaceMetrics(status.root).metrics),
    stages: Object.fromEntries(status.stages.map((s) => [s.name, s.upToDate ? 'skipped' : 'not-run'])),
    seconds: null,
  };
  return [workspace, ...trials];
}

/** `--only-changed`: drops the params and metrics whose value is the same in every row. */
export function onlyChanged(rows: ExperimentRow[]): ExperimentRow[] {
  const varies = (pick: (row: ExperimentRow) => Record<string, unknown>) => {
    const keys = new Set(rows.flatMap((row) => Object.keys(pick(row))));
    return new Set([...keys].filter((key) => rows.some((row) => !isDeepStrictEqual(pick(row)[key], pick(rows[0] as ExperimentRow)[key]))));
  };
  const params = varies((r) => r.params);
  const metrics = varies((r) => r.metrics);
  const keep = <V>(values: Record<string, V>, set: Set<string>) => Object.fromEntries(Object.entries(values).filter(([key]) => set.has(key)));
  return rows.map((row) => ({ ...row, params: keep(row.params, params), metrics: keep(row.metrics, metrics) }));
}

const formatValue = (value: unknown): string =>
  value === undefined || value === null ? '—' : typeof value === 'number' ? String(Number(value.toPrecision(4))) : typeof value === 'string' ? value : JSON.stringify(value);

/** The rows as a header and string cells: id, sweep, status, time, then every param and metric column. */
export function tableCells(rows: ExperimentRow[]): { header: string[]; cells: string[][] } {
  const params = [...new Set(rows.flatMap((r) => Object.keys(r.params)))];
  const metrics = [...new Set(rows.flatMap((r) => Object.keys(r.metrics)))].sort();
  const header = ['id', 'sweep', 'status', 'time', ...params, ...metrics];
  const cells = rows.map((r) => [
    r.id,
    r.sweep || '—',
    r.status,
    r.seconds === null ? '—' : `${r.seconds.toFixed(1)} s`,
    ...params.map((k) => formatValue(r.params[k])),
    ...metrics.map((k) => formatValue(r.metrics[k])),
  ]);
  return { header, cells };
}
