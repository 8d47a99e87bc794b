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

/** One model on the trade-off charts; a chart leaves out the models it has no cost for. */
export interface TradeoffPoint {
  /** Legend label. */
  name: string;
  accuracy: number;
  params?: number | undefined;
  sizeBytes?: number | undefined;
  latencyP50Ms?: number | undefined;
  /** Competes for the Pareto frontier drawn on every chart. */
  frontier: boolean;
}

/** The trade-off point of a scored model. */
export const evaluationPoint = (m: ModelEvaluation, frontier = true): TradeoffPoint => ({
  name: displayName(m.name),
  accuracy: m.report.accuracy,
  params: m.params,
  sizeBytes: m.sizeBytes,
  latencyP50Ms: m.latency.p50_ms,
  frontier,
});

/** The axes of the trade-off charts: chart id, title, and the cost each point is drawn at. */
const TRADEOFF_AXES = [
  { id: 'tradeoff-params', title: 'Accuracy vs parameters', xLabel: 'parameters (log scale)', x: (p: TradeoffPoint) => p.params, formatX: formatCompact, describe: (v: number) => `${formatInteger(v)} parameters` },
  { id: 'tradeoff-size', title: 'Accuracy vs size on disk', xLabel: 'bytes on disk (log scale)', x: (p: TradeoffPoint) => p.sizeBytes, formatX: formatCompact, describe: formatBytes },
  { id: 'tradeoff-latency', title: 'Accuracy vs latency', xLabel: 'p50 ms per sentence (log scale)', x: (p: TradeoffPoint) => p.latencyP50Ms, formatX: formatPlain, describe: (v: number) => `p50 ${formatDuration(v)}` },
] as const;

/**
 * What distillation and quantisation trade: test accuracy against parameters, bytes on disk and
 * single-sentence p50 latency, one marker per model (a model keeps its colour and shape on every
 * chart), and the Pareto frontier of the points that compete for it. A chart none of the points
 * has a cost for is left out.
 */
export function tradeoffCharts(points: readonly TradeoffPoint[]): Chart[] {
  const styled = points.map((p, i) => ({ ...p, color: PALETTE[i % PALETTE.length]!, shape: SHAPES[i % SHAPES.length]! }));
  return TRADEOFF_AXES.flatMap((axis) => {
    const drawn = styled.flatMap((p) => {
      const x = axis.x(p);
      // A log axis has no place for 0 or a missing cost.
      return x !== undefined && x > 0 ? [{ ...p, x }] : [];
    });
    if (drawn.length === 0) return [];
    const svg = scatterChart({
      id: axis.id,
      title: axis.title,
      xLabel: axis.xLabel,
      yLabel: 'test accuracy',
      formatX: axis.formatX,
      ySpecifier: '~%',
      yBounds: [0, 1],
      points: drawn.map((p) => ({
        label: p.name,
        x: p.x,
        y: p.accuracy,
        color: p.color,
        shape: p.shape,
        frontier: p.frontier,
        tooltip: `${p.name}: ${formatPercent(p.accuracy)} accuracy, ${axis.describe(p.x)}`,
      })),
    });
    return [{ id: axis.id, title: axis.title, svg }];
  });
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
