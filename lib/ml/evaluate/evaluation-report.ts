import { EVALUATED_MODELS, type EvaluatedModel, type ModelEvaluation } from './evaluation.js';
import { confusionSvg, escapeHtml, htmlTable, markdownTable, type ModelSummary } from './report.js';

/** Where and how the numbers were measured, printed at the top of the report. */
export interface ReportContext {
  labels: string[];
  testExamples: number;
  backend: string;
  tfPackage: string;
  generatedAt: string;
}

const OVERALL = ['accuracy', 'precision_macro', 'recall_macro', 'f1_macro', 'ece', 'params', 'size_bytes', 'latency_p50_ms', 'latency_p95_ms', 'throughput_per_s'] as const;

const percent = (value: number) => `${(value * 100).toFixed(1)} %`;
const points = (value: number) => `${value >= 0 ? '+' : '−'}${Math.abs(value * 100).toFixed(1)} points`;

/** The one-paragraph answer to "was distillation worth it?", from the flat metrics. */
function headline(m: Readonly<Record<string, number>>): string[] {
  const n = (key: string) => m[key]!;
  return [
    `The distilled student has ${percent(n('student.param_ratio'))} of the teacher's parameters (${n('student.params').toLocaleString('en-US')} vs ${n('teacher.params').toLocaleString('en-US')}) and ${percent(n('student.size_ratio'))} of its size on disk.`,
    `One sentence takes ${n('student.latency_p50_ms').toFixed(2)} ms (p50) instead of ${n('teacher.latency_p50_ms').toFixed(2)} ms: ${n('student.latency_speedup').toFixed(1)}× faster; batch throughput is ${n('student.throughput_speedup').toFixed(1)}× the teacher's.`,
    `Test accuracy: teacher ${percent(n('teacher.accuracy'))}, student ${percent(n('student.accuracy'))}, baseline (same student without the teacher) ${percent(n('baseline.accuracy'))} — distillation gain ${points(n('student.distillation_gain'))} (macro F1 ${points(n('student.distillation_gain_f1'))}).`,
    `The student agrees with the teacher on ${percent(n('teacher_student.agreement'))} of the test sentences (the baseline on ${percent(n('teacher_baseline.agreement'))}).`,
  ];
}

function summaries(evaluations: Record<EvaluatedModel, ModelEvaluation>, metrics: Readonly<Record<string, number>>, labels: readonly string[]) {
  const overall: ModelSummary[] = [];
  const perClass: ModelSummary[] = [];
  for (const name of EVALUATED_MODELS) {
    overall.push({ name, metrics: Object.fromEntries(OVERALL.map((key) => [key, metrics[`${name}.${key}`]!])) });
    const scores = evaluations[name].report.perClass;
    perClass.push({
      name,
      metrics: Object.fromEntries(
        labels.flatMap((label, c) => [
          [`${label}: precision`, scores[c]!.precision],
          [`${label}: recall`, scores[c]!.recall],
          [`${label}: F1`, scores[c]!.f1],
        ]),
      ),
    });
  }
  return { overall, perClass };
}

const svgName = (model: EvaluatedModel) => `confusion-${model}.svg`;

/**
 * The files of artifacts/report/, by name: report.md and index.html (headline, side-by-side
 * tables, confusion matrices), one confusion-<model>.svg per model and confusion.json.
 */
export function renderEvaluationReport(
  evaluations: Record<EvaluatedModel, ModelEvaluation>,
  metrics: Readonly<Record<string, number>>,
  context: ReportContext,
): Map<string, string> {
  const { labels } = context;
  const svgs = new Map(EVALUATED_MODELS.map((name) => [name, confusionSvg(`${name} (rows: true, columns: predicted)`, labels, evaluations[name].report.confusion)]));
  const { overall, perClass } = summaries(evaluations, metrics, labels);
  const about = `Test split: ${context.testExamples} sentences, ${labels.length} classes (${labels.join(', ')}). Latency on the tfjs \`${context.backend}\` backend (${context.tfPackage}), inference only. Generated ${context.generatedAt}.`;
  const lines = headline(metrics);

  const markdown = [
    '# Distillation report',
    '',
    about,
    '',
    ...lines.map((line) => `- ${line}`),
    '',
    '## Teacher vs student vs baseline',
    '',
    markdownTable(overall),
    '',
    '## Per class',
    '',
    markdownTable(perClass),
    '',
    '## Confusion matrices',
    '',
    ...EVALUATED_MODELS.map((name) => `![${name} confusion matrix](${svgName(name)})`),
    '',
  ].join('\n');

  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Distillation report</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.7rem; }
td:not(:first-child) { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #eef; }
.matrices { display: flex; flex-wrap: wrap; gap: 1.5rem; }
</style>
</head>
<body>
<h1>Distillation report</h1>
<p>${escapeHtml(about).replace(/`([^`]+)`/g, '<code>$1</code>')}</p>
<ul>
${lines.map((line) => `<li>${escapeHtml(line)}</li>`).join('\n')}
</ul>
<h2>Teacher vs student vs baseline</h2>
${htmlTable(overall)}
<h2>Per class</h2>
${htmlTable(perClass)}
<h2>Confusion matrices</h2>
<div class="matrices">
${[...svgs.values()].join('\n')}
</div>
</body>
</html>
`;

  const confusion = { labels, ...Object.fromEntries(EVALUATED_MODELS.map((name) => [name, evaluations[name].report.confusion])) };
  return new Map([
    ['report.md', markdown],
    ['index.html', html],
    ...[...svgs].map(([name, svg]) => [svgName(name), `${svg}\n`] as [string, string]),
    ['confusion.json', `${JSON.stringify(confusion, null, 2)}\n`],
  ]);
}
