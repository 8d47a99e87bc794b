import { EVALUATED_MODELS, type EvaluatedModel, type ModelEvaluation } from './evaluation.js';
import { formatBytes, formatDuration, formatInteger, formatPercent, formatPoints, formatRate, formatTimes } from './format.js';
import type { ModelHistory } from './history.js';
import { agreement } from './metrics.js';
import { type Chart, confusionCharts, displayName, evaluationPoint, historyCharts, reliabilityCharts, tradeoffCharts } from './report-charts.js';
import { escapeXml as escapeHtml } from './charts/svg.js';
import { htmlTable, markdownTable, type Table } from './report.js';
import type { TransferMeta } from '../train/soft-labels.js';
import { transferNote, transferTable } from './transfer-set.js';

/** Where and how the numbers were measured, printed at the top of the report. */
export interface ReportContext {
  labels: string[];
  testExamples: number;
  backend: string;
  tfPackage: string;
  generatedAt: string;
}

export interface ReportInput {
  evaluations: Record<EvaluatedModel, ModelEvaluation>;
  /** The student quantised as the export's variants (student_float16, student_uint8), scored like the others. */
  variants: readonly ModelEvaluation[];
  metrics: Readonly<Record<string, number>>;
  histories: readonly ModelHistory[];
  /** generate-soft-labels' meta.json, when the project has that stage. */
  transfer: TransferMeta | null;
  context: ReportContext;
}

/** The rows of the side-by-side tables: name and how to show the number. */
const OVERALL: readonly [string, (m: ModelEvaluation) => string][] = [
  ['Accuracy', (m) => formatPercent(m.report.accuracy)],
  ['Accuracy, sentences with an unseen word', (m) => (m.unseenWordAccuracy === null ? '—' : formatPercent(m.unseenWordAccuracy))],
  ['Macro precision', (m) => formatPercent(m.report.precision_macro)],
  ['Macro recall', (m) => formatPercent(m.report.recall_macro)],
  ['Macro F1', (m) => formatPercent(m.report.f1_macro)],
  ['Calibration error (ECE)', (m) => m.ece.toFixed(3)],
  ['Parameters', (m) => formatInteger(m.params)],
  ['Size on disk', (m) => formatBytes(m.sizeBytes)],
  ['Latency p50, 1 sentence', (m) => formatDuration(m.latency.p50_ms)],
  ['Latency p95, 1 sentence', (m) => formatDuration(m.latency.p95_ms)],
  ['Throughput, batched', (m) => formatRate(m.latency.throughput_per_s)],
];

function overallTable(models: readonly ModelEvaluation[], first = 'metric'): Table {
  return { head: [first, ...models.map((m) => displayName(m.name))], rows: OVERALL.map(([name, cell]) => [name, ...models.map(cell)]) };
}

const ONNX_VARIANT = /^student_onnx_/;

/**
 * The student's export variants side by side with their agreement with the float32 tfjs model:
 * one table for tfjs (float32 and its quantised variants), one for ONNX, so each fits a phone.
 */
function variantTables(student: ModelEvaluation, variants: readonly ModelEvaluation[]): Table[] {
  const table = (title: string, columns: readonly ModelEvaluation[]): Table => {
    const overall = overallTable(columns, title);
    const agrees = ['Agrees with float32 tfjs', ...columns.map((m) => formatPercent(agreement(student.predictions, m.predictions)))];
    return { head: overall.head, rows: [...overall.rows.filter(([name]) => !name!.startsWith('Parameters')), agrees] };
  };
  const tfjs = variants.filter((v) => !ONNX_VARIANT.test(v.name)).map((v) => ({ ...v, name: v.name.replace(/^student_/, '') }));
  const onnx = variants.filter((v) => ONNX_VARIANT.test(v.name)).map((v) => ({ ...v, name: v.name.replace(ONNX_VARIANT, '') }));
  return [...(tfjs.length > 0 ? [table('student export', [{ ...student, name: 'float32' }, ...tfjs])] : []), ...(onnx.length > 0 ? [table('ONNX export', onnx)] : [])];
}

function perClassTable(models: readonly ModelEvaluation[], labels: readonly string[]): Table {
  return {
    head: ['class', ...models.map((m) => m.name)],
    rows: labels.flatMap((label, c) =>
      (['precision', 'recall', 'f1'] as const).map((key) => [`${label}: ${key === 'f1' ? 'F1' : key}`, ...models.map((m) => formatPercent(m.report.perClass[c]![key]))]),
    ),
  };
}

/**
 * How the models do on test sentences holding a word the training split never had (the words a
 * student can only know from the teacher or its sub-word pieces); null when the count is unknown.
 */
export function unseenWordsLine(m: Readonly<Record<string, number>>): string | null {
  const count = m['test.unseen_word_examples'];
  if (count === undefined) return null;
  const total = m['test.examples']!;
  if (count === 0) return `No test sentence holds a word the training split never had, so there is no unseen-word accuracy to report (metrics.json leaves out the <model>.accuracy_unseen_words keys).`;
  const models = ['teacher', 'student', 'baseline'].filter((name) => m[`${name}.accuracy_unseen_words`] !== undefined);
  const gap = m['teacher.accuracy_unseen_words']! - m['student.accuracy_unseen_words']!;
  return (
    `${formatInteger(count)} of ${formatInteger(total)} test sentences (${formatPercent(count / total)}) hold a word the training split never had; on them, accuracy is ` +
    `${models.map((name) => `${name} ${formatPercent(m[`${name}.accuracy_unseen_words`]!)}`).join(', ')}` +
    (!Number.isFinite(gap) ? '.' : Math.abs(gap) < 0.0005 ? ' (the student level with the teacher).' : ` (the student ${Math.abs(gap * 100).toFixed(1)} points ${gap > 0 ? 'below' : 'above'} the teacher).`)
  );
}

/** The one-paragraph answer to "was distillation worth it?", from the flat metrics. */
function headline(m: Readonly<Record<string, number>>, variants: readonly ModelEvaluation[], student: ModelEvaluation): string[] {
  const n = (key: string) => m[key]!;
  const lines = [
    `The distilled student has ${formatPercent(n('student.param_ratio'))} of the teacher's parameters (${formatInteger(n('student.params'))} vs ${formatInteger(n('teacher.params'))}) and ${formatPercent(n('student.size_ratio'))} of its size on disk.`,
    `One sentence takes ${formatDuration(n('student.latency_p50_ms'))} (p50) instead of ${formatDuration(n('teacher.latency_p50_ms'))}: ${formatTimes(n('student.latency_speedup'))} faster; batch throughput is ${formatTimes(n('student.throughput_speedup'))} the teacher's.`,
    `Test accuracy: teacher ${formatPercent(n('teacher.accuracy'))}, student ${formatPercent(n('student.accuracy'))}, baseline (same student without the teacher) ${formatPercent(n('baseline.accuracy'))} — distillation gain ${formatPoints(n('student.distillation_gain'))} (macro F1 ${formatPoints(n('student.distillation_gain_f1'))}).`,
    `The student agrees with the teacher on ${formatPercent(n('teacher_student.agreement'))} of the test sentences (the baseline on ${formatPercent(n('teacher_baseline.agreement'))}).`,
  ];
  const unseen = unseenWordsLine(m);
  if (unseen) lines.push(unseen);
  // The ONNX float32 file is the same model in another format, not a quantisation.
  const quantised = variants.filter((v) => !v.name.endsWith('float32'));
  const smallest = quantised.reduce<ModelEvaluation | null>((best, v) => (best === null || v.sizeBytes < best.sizeBytes ? v : best), null);
  if (smallest) {
    lines.push(
      `Quantised to ${smallest.name.replace(/^student_/, '')}, the exported student takes ${formatBytes(smallest.sizeBytes)} (${formatPercent(smallest.sizeBytes / student.sizeBytes)} of float32) at ${formatPercent(smallest.report.accuracy)} test accuracy, agreeing with float32 on ${formatPercent(agreement(student.predictions, smallest.predictions))} of the sentences.`,
    );
  }
  return lines;
}

/** A self-contained page (the reports' shared head and style) around `body`. */
export function htmlPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

const STYLE = `
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; max-width: 76rem; margin: 1.5rem auto; padding: 0 1rem; color: #1f2328; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: 0.3rem; }
h2 { font-size: 1.25rem; margin-top: 2.2rem; border-bottom: 1px solid #d8dee4; padding-bottom: 0.2rem; }
h3 { font-size: 1.05rem; margin: 1.2rem 0 0.4rem; }
p.about, p.note { color: #59636e; font-size: 0.92rem; overflow-wrap: anywhere; }
ul.headline li { margin: 0.3rem 0; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.92rem; }
th, td { border: 1px solid #d0d7de; padding: 0.3rem 0.6rem; }
thead th { background: #eef2f8; }
tbody th { text-align: left; font-weight: normal; }
td { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.tables { display: flex; flex-wrap: wrap; gap: 0 2rem; align-items: flex-start; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 22rem), 1fr)); gap: 1rem 1.5rem; align-items: start; }
figure { margin: 0; }
svg { display: block; max-width: 100%; height: auto; }
code { font-size: 0.9em; overflow-wrap: anywhere; }
@media (max-width: 30rem) {
  body { padding: 0 0.6rem; }
  table { font-size: 0.8rem; }
  th, td { padding: 0.25rem 0.35rem; }
}
`;

/** Text for HTML, `code` spans as <code>. */
export const prose = (text: string) => escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');
export const figures = (charts: readonly Chart[]) => `<div class="charts">\n${charts.map((c) => `<figure>\n${c.svg}\n</figure>`).join('\n')}\n</div>`;
export const images = (charts: readonly Chart[]) => charts.map((c) => `![${c.title}](${c.id}.svg)`).join('\n');

/**
 * The files of artifacts/report/, by name: index.html (self-contained: headline, trade-off charts,
 * side-by-side tables, training curves, reliability diagrams, confusion matrices), report.md (the
 * same, charts as images), one SVG per chart, confusion.json and calibration.json.
 */
export function renderEvaluationReport(input: ReportInput): Map<string, string> {
  const { evaluations, variants, metrics, histories, transfer, context } = input;
  const { labels } = context;
  const models = EVALUATED_MODELS.map((name) => evaluations[name]);
  const tradeoffs = tradeoffCharts([...models, ...variants].map((m) => evaluationPoint(m)));
  const curves = historyCharts(histories);
  const reliability = reliabilityCharts(models);
  const confusion = confusionCharts(models, labels);
  const overall = overallTable(models);
  const exportTables = variantTables(evaluations.student, variants);
  const perClass = perClassTable(models, labels);
  const about = `Test split: ${formatInteger(context.testExamples)} sentences, ${labels.length} classes (${labels.join(', ')}). Model inference only: one sentence timed on each tfjs backend, the fastest kept, the ONNX variants on onnxruntime-node, batches too (${[...models, ...variants].map((m) => `${displayName(m.name)} \`${m.latency.backend}\``).join(', ')}); batches on \`${context.backend}\` (${context.tfPackage}). Generated ${context.generatedAt}.`;
  const lines = headline(metrics, variants, evaluations.student);
  const curvesNote = curves.length === 0 ? 'No training histories were found in artifacts/plots.' : `Per epoch, from ${curves.map((c) => c.file).join(', ')}: training solid, validation dashed.`;
  const calibrationNote = 'Test sentences binned by the probability of the predicted class; a calibrated model is right as often as it is confident (the diagonal).';
  const tradeoffNote = `Test accuracy of each model against its cost; the dashed line is the Pareto frontier (no other model is both cheaper and more accurate). The float32 export is the student itself; ${variants.length > 0 ? `${variants.map((v) => displayName(v.name)).join(' and ')} are its quantised exports, scored and timed the same way` : 'no quantised variants are configured (export.quantize)'}. After \`kd-pipeline exp run\` over student keys, \`kd-pipeline exp report\` draws these charts for every trial's student.`;

  const markdown = [
    '# Distillation report',
    '',
    about,
    '',
    ...lines.map((line) => `- ${line}`),
    '',
    '## Trade-offs',
    '',
    tradeoffNote,
    '',
    images(tradeoffs),
    '',
    '## Teacher vs student vs baseline',
    '',
    markdownTable(overall),
    ...exportTables.flatMap((table) => ['', markdownTable(table)]),
    ...(transfer ? ['', '## Transfer set', '', transferNote(transfer), '', markdownTable(transferTable(transfer))] : []),
    '',
    '## Training curves',
    '',
    curvesNote,
    ...curves.flatMap((c) => ['', `### ${c.model}`, '', images(c.charts)]),
    '',
    '## Calibration',
    '',
    calibrationNote,
    '',
    images(reliability),
    '',
    '## Per class',
    '',
    markdownTable(perClass),
    '',
    '## Confusion matrices',
    '',
    images(confusion),
    '',
  ].join('\n');

  const html = htmlPage(
    'Distillation report',
    `<h1>Distillation report</h1>
<p class="about">${prose(about)}</p>
<ul class="headline">
${lines.map((line) => `<li>${escapeHtml(line)}</li>`).join('\n')}
</ul>
<h2 id="tradeoffs">Trade-offs</h2>
<p class="note">${prose(tradeoffNote)}</p>
${figures(tradeoffs)}
<h2 id="comparison">Teacher vs student vs baseline</h2>
<div class="tables">
${htmlTable(overall)}
${exportTables.map((table) => htmlTable(table)).join('\n')}
</div>
${transfer ? `<h2 id="transfer">Transfer set</h2>\n<p class="note">${escapeHtml(transferNote(transfer))}</p>\n${htmlTable(transferTable(transfer))}` : ''}
<h2 id="curves">Training curves</h2>
<p class="note">${escapeHtml(curvesNote)}</p>
${curves.map((c) => `<h3>${escapeHtml(c.model)}</h3>\n${figures(c.charts)}`).join('\n')}
<h2 id="calibration">Calibration</h2>
<p class="note">${escapeHtml(calibrationNote)}</p>
${figures(reliability)}
<h2 id="per-class">Per class</h2>
${htmlTable(perClass)}
<h2 id="confusion">Confusion matrices</h2>
${figures(confusion)}`,
  );

  const charts = [...tradeoffs, ...curves.flatMap((c) => c.charts), ...reliability, ...confusion];
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  return new Map([
    ['report.md', markdown],
    ['index.html', html],
    ...charts.map((c) => [`${c.id}.svg`, `${c.svg}\n`] as [string, string]),
    ['confusion.json', json({ labels, ...Object.fromEntries(models.map((m) => [m.name, m.report.confusion])) })],
    ['calibration.json', json(Object.fromEntries(models.map((m) => [m.name, { ece: m.ece, bins: m.reliability }])))],
  ]);
}
