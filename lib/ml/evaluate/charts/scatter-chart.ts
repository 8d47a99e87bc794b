import { scaleLinear, scaleLog } from 'd3-scale';
import { paretoFrontier } from '../frontier.js';
import { frame } from './frame.js';
import { lineSwatch, marker, px, type Shape, svgDocument } from './svg.js';

export interface ScatterPoint {
  label: string;
  x: number;
  y: number;
  color: string;
  shape: Shape;
  /** Shown on hover. */
  tooltip: string;
  /** Competes for the Pareto frontier (lower x, higher y); points without it are drawn for reference only. */
  frontier?: boolean;
}

/** Colour of the frontier line: neutral, so it never reads as one of the models. */
const FRONTIER_COLOR = '#57606a';

export interface ScatterChartOptions {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  points: readonly ScatterPoint[];
  formatX(value: number): string;
  /** d3-format specifier of the y ticks, e.g. "~%". */
  ySpecifier: string;
  yBounds?: readonly [number, number];
}

/**
 * One marker per point on a log x axis (sizes and latencies span orders of magnitude) against a
 * linear y axis; the legend names each marker, so points that coincide stay identifiable. A dashed
 * line joins the Pareto frontier of the points marked `frontier`, when it has two points or more.
 */
export function scatterChart(options: ScatterChartOptions): string {
  const candidates = options.points.filter((p) => p.frontier);
  const frontier = paretoFrontier(candidates).map((i) => candidates[i]!);
  const xs = options.points.map((p) => p.x);
  const ys = options.points.map((p) => p.y);
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  const x = scaleLog().domain([xMin / 1.6, xMax * 1.6]);
  let [yMin, yMax] = [Math.min(...ys), Math.max(...ys)];
  const spread = Math.max(yMax - yMin, 0.02);
  [yMin, yMax] = [yMin - spread * 0.15, yMax + spread * 0.15];
  const y = scaleLinear().domain([yMin, yMax]).nice();
  if (options.yBounds) y.domain(y.domain().map((v) => Math.min(options.yBounds![1], Math.max(options.yBounds![0], v))));
  const f = frame({
    title: options.title,
    width: 400,
    plotHeight: 200,
    x: { scale: x, label: options.xLabel, format: options.formatX },
    y: { scale: y, label: options.yLabel, specifier: options.ySpecifier },
    legend: [
      ...options.points.map((p) => ({ label: p.label, swatch: (lx: number, ly: number) => marker(p.shape, lx + 10, ly + 6, 5, p.color) })),
      ...(frontier.length > 1 ? [{ label: 'Pareto frontier', swatch: lineSwatch(FRONTIER_COLOR, true) }] : []),
    ],
  });
  const line =
    frontier.length > 1
      ? [`<polyline data-frontier="${frontier.length}" points="${frontier.map((p) => `${px(x(p.x))},${px(y(p.y))}`).join(' ')}" fill="none" stroke="${FRONTIER_COLOR}" stroke-width="1.5" stroke-dasharray="5 3"/>`]
      : [];
  const marks = options.points.map((p) => marker(p.shape, x(p.x), y(p.y), 6, p.color, p.tooltip));
  return svgDocument(options.id, options.title, f.width, f.height, [...f.back, ...line, ...marks, ...f.front]);
}
