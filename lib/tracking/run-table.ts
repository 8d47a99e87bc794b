import { runFinalMetrics, type JournaledRun } from './journal.js';

export interface RunSummary {
  runId: string;
  startedAt: string;
  gitCommit: string | null;
  status: string;
  /** Dotted params whose value differs from the run before (all of them for the first run). */
  changedParams: Record<string, unknown>;
  /** The final values of every stage's metrics files, under the keys of the MLflow run (flatMetrics). */
  metrics: Record<string, number>;
  stages: Record<string, string>;
}

function flatParams(value: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatParams(v, prefix ? `${prefix}.${k}` : k, out);
  } else out[prefix] = value;
  return out;
}

export function summarizeRuns(runs: JournaledRun[]): RunSummary[] {
  let previous: Record<string, unknown> = {};
  return runs.map((run) => {
    const params = flatParams(run.start.params);
    const changedParams = Object.fromEntries(Object.entries(params).filter(([k, v]) => JSON.stringify(previous[k]) !== JSON.stringify(v)));
    previous = params;
    const stages: Record<string, string> = {};
    for (const s of run.stages) if (s.end) stages[s.end.stage] = s.end.result;
    const metrics = runFinalMetrics(run);
    return { runId: run.start.runId, startedAt: run.start.startedAt, gitCommit: run.start.gitCommit ?? null, status: run.end?.status ?? 'RUNNING', changedParams, metrics, stages };
  });
}

const fmt = (v: unknown) => (typeof v === 'number' ? String(Number(v.toPrecision(4))) : JSON.stringify(v));

/** A plain-text table; key metrics are those named like accuracy/f1/loss, to keep lines readable. */
export function renderRunTable(rows: RunSummary[]): string {
  const header = ['time', 'commit', 'status', 'ran', 'changed params', 'key metrics'];
  const body = rows.map((r) => [
    r.startedAt.replace('T', ' ').slice(0, 19),
    (r.gitCommit ?? '-').slice(0, 8),
    r.status,
    Object.entries(r.stages).filter(([, res]) => res === 'ran').map(([s]) => s).join(',') || '-',
    Object.entries(r.changedParams).map(([k, v]) => `${k}=${fmt(v)}`).join(' ').slice(0, 60) || '-',
    Object.entries(r.metrics).filter(([k]) => /accuracy|f1|loss/i.test(k) && !/val_|train/i.test(k)).map(([k, v]) => `${k}=${fmt(v)}`).join(' ') || '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]?.length ?? 0)));
  return [header, ...body].map((row) => row.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}
