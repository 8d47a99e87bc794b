import { confusionChart } from './charts/confusion-chart.js';
import { lineChart } from './charts/line-chart.js';
import { reliabilityChart } from './charts/reliability-chart.js';
import { scatterChart } from './charts/scatter-chart.js';
import { PALETTE, SHAPES } from './charts/svg.js';
import type { ModelEvaluation } from './evaluation.js';
import { formatBytes, formatCompact, formatDuration, formatInteger, formatPercent, formatPlain } from './format.js';
import type { ModelHistory } from './history.js';

/** One SVG chart of the report: written as `<id>.svg` and inlined in index.html. */
export interface Chart {
  id: string;
  title: string;
  svg: string;
}

/** student_uint8 → "student uint8". */
export const displayName = (name: string) => name.replace(/_/g, ' ');

/**
 * What distillation and quantisation trade: test accuracy against parameters, bytes on disk and
 * single-sentence p50 latency, one marker per model (teacher, student, baseline, variants).
 */
export function tradeoffCharts(models: readonly ModelEvaluation[]): Chart[] {
  const axes = [
    { id: 'tradeoff-params', title: 'Accuracy vs parameters', xLabel: 'parameters (log scale)', x: (m: ModelEvaluation) => m.params, formatX: formatCompact, describe: (m: ModelEvaluation) => `${formatInteger(m.params)} parameters` },
    { id: 'tradeoff-size', title: 'Accuracy vs size on disk', xLabel: 'bytes on disk (log scale)', x: (m: ModelEvaluation) => m.sizeBytes, formatX: formatCompact, describe: (m: ModelEvaluation) => formatBytes(m.sizeBytes) },
    { id: 'tradeoff-latency', title: 'Accuracy vs latency', xLabel: 'p50 ms per sentence (log scale)', x: (m: ModelEvaluation) => m.latency.p50_ms, formatX: formatPlain, describe: (m: ModelEvaluation) => `p50 ${formatDuration(m.latency.p50_ms)}` },
  ];
  return axes.map((axis) => ({
    id: axis.id,
    title: axis.title,
    svg: scatterChart({
      id: axis.id,
      title: axis.title,
      xLabel: axis.xLabel,
      yLabel: 'test accuracy',
      formatX: axis.formatX,
      ySpecifier: '~%',
      yBounds: [0, 1],
      points: models.map((m, i) => ({
        label: displayName(m.name),
        x: axis.x(m),
        y: m.report.accuracy,
        color: PALETTE[i % PALETTE.length]!,
        shape: SHAPES[i % SHAPES.length]!,
        tooltip: `${displayName(m.name)}: ${formatPercent(m.report.accuracy)} accuracy, ${axis.describe(m)}`,
      })),
    }),
  }));
}

const METRIC_TITLES: Record<string, string> = { loss: 'loss', accuracy: 'accuracy', learning_rate: 'learning rate' };

/** Per-epoch curves of every history: one chart per model and metric (loss, accuracy, …), training solid, validation dashed. */
export function historyCharts(histories: readonly ModelHistory[]): { model: string; file: string; charts: Chart[] }[] {
  return histories.map((history) => ({
    model: history.model,
    file: history.file,
    charts: history.panels.map((panel) => {
      const id = `history-${history.model}-${panel.metric}`.replace(/[^\p{L}\p{N}_-]/gu, '_');
      const metric = METRIC_TITLES[panel.metric] ?? panel.metric.replace(/_/g, ' ');
      const title = `${history.model}: ${metric}`;
      const members = new Set(panel.curves.map((c) => c.member)).size > 1;
      const svg = lineChart({
        id,
        title,
        xLabel: history.xKey,
        yLabel: metric,
        ySpecifier: panel.metric === 'accuracy' ? '~%' : '~f',
        ...(panel.metric === 'accuracy' ? { yBounds: [0, 1] as const } : {}),
        series: panel.curves.map((curve) => ({
          label: curve.label,
          points: curve.points,
          // One colour per ensemble member; for a single model, colour tells training from validation too.
          color: PALETTE[members ? (curve.member ?? 0) % PALETTE.length : curve.validation ? 1 : 0]!,
          dashed: curve.validation,
        })),
      });
      return { id, title, svg };
    }),
  }));
}

/** One reliability diagram per model, its ECE in the title. */
export function reliabilityCharts(models: readonly ModelEvaluation[]): Chart[] {
  return models.map((m) => {
    const id = `reliability-${m.name}`;
    const title = `${displayName(m.name)}: calibration (ECE ${m.ece.toFixed(3)})`;
    return { id, title, svg: reliabilityChart(id, title, m.reliability) };
  });
}

export function confusionCharts(models: readonly ModelEvaluation[], labels: readonly string[]): Chart[] {
  return models.map((m) => {
    const id = `confusion-${m.name}`;
    const title = `${displayName(m.name)}: confusion matrix`;
    return { id, title, svg: confusionChart(id, title, labels, m.report.confusion) };
  });
}
