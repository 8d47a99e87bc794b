import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeDirAtomic } from '../../atomic-dir.js';
import { KdError } from '../../errors.js';
import { flatMetrics, workspaceMetrics } from '../../pipeline/metrics-values.js';
import { projectPaths } from '../../pipeline/project.js';
import { listSweeps, sweepTrials } from '../../pipeline/experiments/store.js';
import { trialRow, type ExperimentRow } from '../../pipeline/experiments/table.js';
import { escapeXml as escapeHtml } from './charts/svg.js';
import { figures, htmlPage, images, prose } from './evaluation-report.js';
import { formatBytes, formatDuration, formatInteger, formatPercent } from './format.js';
import { paretoFrontier } from './frontier.js';
import { tradeoffCharts, type TradeoffPoint } from './report-charts.js';
import { htmlTable, markdownTable, type Table } from './report.js';

/**
 * `kd-pipeline exp report`: the evaluate stage's trade-off charts over every trial's student, with
 * their Pareto frontier. The stage itself stays hermetic (it never reads .kd/exp); this reads the
 * metrics the trials recorded, as `exp show` does, and knows which keys the evaluate stage writes.
 */

/** Where the report goes unless --out says otherwise (relative to the project root). */
export const DEFAULT_SWEEP_REPORT_DIR = 'artifacts/sweep-report';
/** Written into every sweep report; an --out folder holding other files but not this one is refused. */
const MARKER = 'frontier.json';

/** The evaluate stage's metrics a trade-off point is drawn from, after the `student.` / `teacher.` prefix. */
const COSTS = ['params', 'size_bytes', 'latency_p50_ms'] as const;
type Cost = (typeof COSTS)[number];
export type PointMetrics = { accuracy: number } & Partial<Record<Cost, number>>;

export interface SweepStudent {
  /** The trial id (`<sweep>.<n>`), or `workspace` for the project's own student. */
  id: string;
  sweep: string;
  /** The trial's swept params. */
  params: Record<string, unknown>;
  metrics: PointMetrics;
}

export interface SweepTeacher {
  id: string;
  /** The rows whose teacher this is (one teacher for a sweep over student keys). */
  trials: string[];
  metrics: PointMetrics;
}

export interface SweepReport {
  /** Absolute path of the report folder. */
  out: string;
  teachers: SweepTeacher[];
  students: SweepStudent[];
  /** Per cost metric, the students on the frontier, cheapest first. */
  frontier: Record<Cost, SweepStudent[]>;
  /** Rows left out and why (failed, still running, no student metrics). */
  skipped: { id: string; reason: string }[];
}

/** A metric of a row: its plain key, or the one file-qualified key (`<file>/<key>`) flatMetrics made of it. */
function metricOf(row: ExperimentRow, key: string): number | undefined {
  if (key in row.metrics) return row.metrics[key];
  const qualified = Object.keys(row.metrics).filter((k) => k.endsWith(`/${key}`));
  return qualified.length === 1 ? row.metrics[qualified[0]!] : undefined;
}

function pointMetrics(row: ExperimentRow, model: 'student' | 'teacher'): PointMetrics | string {
  const accuracy = metricOf(row, `${model}.accuracy`);
  const params = metricOf(row, `${model}.params`);
  if (accuracy === undefined || params === undefined) return `no ${[accuracy === undefined ? `${model}.accuracy` : '', params === undefined ? `${model}.params` : ''].filter(Boolean).join(' or ')} in its metrics`;
  const metrics: PointMetrics = { accuracy };
  for (const cost of COSTS) {
    const value = metricOf(row, `${model}.${cost}`);
    if (value !== undefined) metrics[cost] = value;
  }
  return metrics;
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * The students (workspace first, then each completed trial) and the teachers of the rows. A teacher
 * shared by several rows (same parameters and accuracy: the cached teacher stage) is one point at
 * the median of the latencies each trial timed.
 */
export function sweepPoints(rows: readonly ExperimentRow[]): Omit<SweepReport, 'out' | 'frontier'> {
  const students: SweepStudent[] = [];
  const skipped: SweepReport['skipped'] = [];
  const groups = new Map<string, { trials: string[]; metrics: PointMetrics[] }>();
  for (const row of rows) {
    if (row.status !== 'ok') {
      skipped.push({ id: row.id, reason: row.status });
      continue;
    }
    const student = pointMetrics(row, 'student');
    if (typeof student === 'string') {
      // An unrun workspace has no metrics at all: nothing to say about it.
      if (row.id !== 'workspace' || Object.keys(row.metrics).length > 0) skipped.push({ id: row.id, reason: student });
      continue;
    }
    students.push({ id: row.id, sweep: row.sweep, params: row.params, metrics: student });
    const teacher = pointMetrics(row, 'teacher');
    if (typeof teacher === 'string') continue;
    const key = `${teacher.params}|${teacher.accuracy}`;
    const group = groups.get(key) ?? { trials: [], metrics: [] };
    group.trials.push(row.id);
    group.metrics.push(teacher);
    groups.set(key, group);
  }
  const teachers = [...groups.values()].map((group, _, all) => {
    const metrics: PointMetrics = { ...group.metrics[0]! };
    for (const cost of COSTS) {
      const values = group.metrics.flatMap((m) => (m[cost] === undefined ? [] : [m[cost]]));
      if (values.length > 0) metrics[cost] = median(values);
    }
    return { id: all.length === 1 ? 'teacher' : `teacher (${group.trials[0]})`, trials: group.trials, metrics };
  });
  return { teachers, students, skipped };
}

/** Per cost metric, the students no other student beats on both that cost and accuracy, cheapest first. */
export function sweepFrontier(students: readonly SweepStudent[]): Record<Cost, SweepStudent[]> {
  const frontierOf = (cost: Cost) => {
    const priced = students.filter((s) => s.metrics[cost] !== undefined && s.metrics[cost] > 0);
    return paretoFrontier(priced.map((s) => ({ x: s.metrics[cost]!, y: s.metrics.accuracy }))).map((i) => priced[i]!);
  };
  return { params: frontierOf('params'), size_bytes: frontierOf('size_bytes'), latency_p50_ms: frontierOf('latency_p50_ms') };
}

/** "grid.2 size=small" — the trial and the last segment of each swept key, short enough for a legend. */
export function studentLabel(student: SweepStudent): string {
  const values = Object.entries(student.params).map(([key, value]) => `${key.split('.').pop()}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return [student.id, ...values].join(' ');
}

const COST_NAMES: Record<Cost, string> = { params: 'parameters', size_bytes: 'size', latency_p50_ms: 'latency' };

function pointsTable(report: Omit<SweepReport, 'out'>, keys: readonly string[]): Table {
  const cells = (m: PointMetrics) => [
    formatPercent(m.accuracy),
    m.params === undefined ? '—' : formatInteger(m.params),
    m.size_bytes === undefined ? '—' : formatBytes(m.size_bytes),
    m.latency_p50_ms === undefined ? '—' : formatDuration(m.latency_p50_ms),
  ];
  const show = (value: unknown) => (value === undefined || value === null ? '—' : typeof value === 'string' ? value : JSON.stringify(value));
  return {
    head: ['model', ...keys, 'accuracy', 'parameters', 'size on disk', 'latency p50', 'on the frontier of'],
    rows: [
      ...report.teachers.map((t) => [t.id, ...keys.map(() => '—'), ...cells(t.metrics), '(reference)']),
      ...report.students.map((s) => [
        s.id === 'workspace' ? 'workspace student' : s.id,
        ...keys.map((key) => show(s.params[key])),
        ...cells(s.metrics),
        COSTS.filter((cost) => report.frontier[cost].includes(s)).map((cost) => COST_NAMES[cost]).join(', ') || '—',
      ]),
    ],
  };
}

/** The report folder's files by name: index.html, report.md, one SVG per chart and frontier.json. */
export function renderSweepReport(report: Omit<SweepReport, 'out'>, context: { sweeps: readonly string[]; generatedAt: string }): Map<string, string> {
  const points: TradeoffPoint[] = [
    ...report.teachers.map((t) => ({ name: t.id, accuracy: t.metrics.accuracy, params: t.metrics.params, sizeBytes: t.metrics.size_bytes, latencyP50Ms: t.metrics.latency_p50_ms, frontier: false })),
    ...report.students.map((s) => ({ name: s.id === 'workspace' ? 'workspace student' : studentLabel(s), accuracy: s.metrics.accuracy, params: s.metrics.params, sizeBytes: s.metrics.size_bytes, latencyP50Ms: s.metrics.latency_p50_ms, frontier: true })),
  ];
  const charts = tradeoffCharts(points);
  const keys = [...new Set(report.students.flatMap((s) => Object.keys(s.params)))];
  const table = pointsTable(report, keys);
  const trials = report.students.filter((s) => s.id !== 'workspace').length;
  const about =
    `${formatInteger(trials)} trial${trials === 1 ? '' : 's'} of ${context.sweeps.length === 1 ? `sweep ${context.sweeps[0]}` : `sweeps ${context.sweeps.join(', ')}`}` +
    `${report.students.some((s) => s.id === 'workspace') ? ' and the workspace' : ''}, from the metrics each recorded (\`student.accuracy\`, \`student.params\`, \`student.size_bytes\`, \`student.latency_p50_ms\`; the teacher's \`teacher.*\`). ` +
    `Latencies were timed by each trial's own evaluate stage: trials run side by side (\`exp run --jobs\`) time one another's load. Generated ${context.generatedAt}.`;
  const frontierLines = COSTS.filter((cost) => report.students.some((s) => (s.metrics[cost] ?? 0) > 0)).map(
    (cost) => `Frontier by ${COST_NAMES[cost]}: ${report.frontier[cost].map((s) => `${s.id} (${formatPercent(s.metrics.accuracy)})`).join(' → ')}.`,
  );
  const note = `One marker per student; the dashed line joins the students no other student beats on both accuracy and cost (the Pareto frontier). The teacher is drawn for reference and is not on the frontier.`;
  const skippedLine = report.skipped.length > 0 ? `Left out: ${report.skipped.map((s) => `${s.id} (${s.reason})`).join(', ')}.` : '';

  const markdown = [
    '# Sweep report: accuracy vs cost',
    '',
    about,
    '',
    ...frontierLines.map((line) => `- ${line}`),
    ...(skippedLine ? ['', skippedLine] : []),
    '',
    note,
    '',
    images(charts),
    '',
    markdownTable(table),
    '',
  ].join('\n');
  const html = htmlPage(
    'Sweep report',
    `<h1>Sweep report: accuracy vs cost</h1>
<p class="about">${prose(about)}</p>
<ul class="headline">
${frontierLines.map((line) => `<li>${escapeHtml(line)}</li>`).join('\n')}
</ul>
${skippedLine ? `<p class="note">${escapeHtml(skippedLine)}</p>\n` : ''}<h2 id="tradeoffs">Trade-offs</h2>
<p class="note">${escapeHtml(note)}</p>
${figures(charts)}
<h2 id="students">Students</h2>
${htmlTable(table)}`,
  );
  return new Map([
    ['index.html', html],
    ['report.md', markdown],
    ...charts.map((c) => [`${c.id}.svg`, `${c.svg}\n`] as [string, string]),
    [MARKER, `${JSON.stringify(report, null, 2)}\n`],
  ]);
}

/** The rows the report reads: the workspace's metrics, then every trial of the sweep (or of all sweeps). */
function reportRows(root: string, sweep: string | undefined): { rows: ExperimentRow[]; sweeps: string[] } {
  const paths = projectPaths(root);
  const sweeps = listSweeps(paths).filter((s) => sweep === undefined || s.name === sweep);
  if (sweep !== undefined && sweeps.length === 0) throw new KdError(`exp report: no sweep named '${sweep}' (\`kd-pipeline exp show\` lists them)`);
  if (sweeps.length === 0) throw new KdError('exp report: no experiments yet (`kd-pipeline exp run -S student.size=tiny,small,base` runs a sweep)');
  const workspace: ExperimentRow = { id: 'workspace', sweep: '', status: 'ok', params: {}, metrics: flatMetrics(workspaceMetrics(root).metrics), stages: {}, seconds: null };
  const trials = sweeps.flatMap((s) => sweepTrials(paths, s.name).map((t) => trialRow(t.record)));
  return { rows: [workspace, ...trials], sweeps: sweeps.map((s) => s.name) };
}

/** Refuses an --out folder that holds files but is not an earlier sweep report: it would be replaced whole. */
function checkOut(out: string): void {
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) throw new KdError(`exp report: --out ${out} is a file, not a folder`);
  const entries = readdirSync(out);
  if (entries.length > 0 && !entries.includes(MARKER)) throw new KdError(`exp report: ${out} holds other files (no ${MARKER}, so not a sweep report) and would be replaced; pick an empty or new folder with --out`);
}

/** Reads the trials, renders the report and swaps it into `out` (default artifacts/sweep-report/) whole. */
export async function writeSweepReport(root: string, options: { sweep?: string; out?: string } = {}): Promise<SweepReport> {
  const out = path.resolve(root, options.out ?? DEFAULT_SWEEP_REPORT_DIR);
  const { rows, sweeps } = reportRows(root, options.sweep);
  const points = sweepPoints(rows);
  if (points.students.length === 0) {
    const why = points.skipped.length > 0 ? `: ${points.skipped.map((s) => `${s.id} (${s.reason})`).join(', ')}` : '';
    throw new KdError(`exp report: no trial has student.accuracy and student.params in its metrics${why} (the evaluate stage writes them to artifacts/metrics.json)`);
  }
  const report = { ...points, frontier: sweepFrontier(points.students) };
  checkOut(out);
  const files = renderSweepReport(report, { sweeps, generatedAt: new Date().toISOString() });
  await writeDirAtomic(out, (tmp) => {
    for (const [name, content] of files) writeFileSync(path.join(tmp, name), content);
  });
  return { out, ...report };
}
