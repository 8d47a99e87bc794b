import { scaleLinear } from 'd3-scale';
import { frame } from './frame.js';
import { lineSwatch, px, svgDocument } from './svg.js';

export interface LineSeries {
  label: string;
  points: readonly (readonly [number, number])[];
  color: string;
  dashed: boolean;
}

export interface LineChartOptions {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly LineSeries[];
  /** d3-format specifier of the y ticks, e.g. "~%" for shares. */
  ySpecifier: string;
  /** Keep the y axis inside these bounds (e.g. [0, 1] for accuracy). */
  yBounds?: readonly [number, number];
}

/** Curves over integer steps (epochs): one line per series, a dot per point, a legend below. */
export function lineChart(options: LineChartOptions): string {
  const points = options.series.flatMap((s) => s.points);
  const xs = points.map(([x]) => x);
  const ys = points.map(([, y]) => y);
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  let [yMin, yMax] = [Math.min(...ys), Math.max(...ys)];
  if (yMin === yMax) [yMin, yMax] = [yMin - Math.abs(yMin || 1) * 0.05, yMax + Math.abs(yMax || 1) * 0.05];
  const y = scaleLinear().domain([yMin, yMax]).nice();
  if (options.yBounds) y.domain(y.domain().map((v) => Math.min(options.yBounds![1], Math.max(options.yBounds![0], v))));
  const x = scaleLinear().domain(xMin === xMax ? [xMin - 1, xMax + 1] : [xMin, xMax]);
  const xTicks = x.ticks(Math.min(8, Math.max(1, xMax - xMin))).filter(Number.isInteger);
  const f = frame({
    title: options.title,
    width: 400,
    plotHeight: 190,
    x: { scale: x, label: options.xLabel, format: String, ticks: xTicks },
    y: { scale: y, label: options.yLabel, specifier: options.ySpecifier },
    legend: options.series.map((s) => ({ label: s.label, swatch: lineSwatch(s.color, s.dashed) })),
  });
  const marks = options.series.flatMap((s) => {
    const coords = s.points.map(([px_, py]) => [x(px_), y(py)] as const);
    const dash = s.dashed ? ' stroke-dasharray="5 3"' : '';
    return [
      `<polyline points="${coords.map(([a, b]) => `${px(a)},${px(b)}`).join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`,
      ...coords.map(([a, b]) => `<circle cx="${px(a)}" cy="${px(b)}" r="2.5" fill="${s.color}"/>`),
    ];
  });
  return svgDocument(options.id, options.title, f.width, f.height, [...f.back, ...marks, ...f.front]);
}
