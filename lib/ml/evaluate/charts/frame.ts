import type { ScaleLinear, ScaleLogarithmic } from 'd3-scale';
import { FONT_SIZE, legend, line, type LegendEntry, text, textWidth, TITLE_SIZE } from './svg.js';

type Scale = ScaleLinear<number, number> | ScaleLogarithmic<number, number>;

export interface Axis {
  scale: Scale;
  label: string;
  /**
   * Tick label; without one, d3's tick format with `specifier` (its precision follows the tick
   * step, so neighbouring labels never read the same). On a log x axis, ticks whose labels would
   * touch are left out, the roundest kept.
   */
  format?: (value: number) => string;
  /** A d3-format specifier such as "~%" or "~f", for d3's tick format. */
  specifier?: string;
  /** Explicit tick values (else d3's). */
  ticks?: number[];
}

export interface FrameOptions {
  title: string;
  /** Width of the whole chart; it grows if the title or legend needs more. */
  width: number;
  plotHeight: number;
  x: Axis;
  y: Axis;
  legend?: readonly LegendEntry[];
  /** Extra room above the plot area (labels drawn above marks). */
  headroom?: number;
}

export interface Frame {
  width: number;
  height: number;
  /** Grid lines: drawn before the marks. */
  back: string[];
  /** Axes, labels, title, legend: drawn after the marks. */
  front: string[];
  plot: { left: number; top: number; right: number; bottom: number };
}

/** d3's ticks for the axis (every 1…9 multiple of each decade on a log scale), or the explicit ones. */
function candidateTicks(axis: Axis): number[] {
  if (axis.ticks) return axis.ticks;
  return 'base' in axis.scale ? axis.scale.ticks() : axis.scale.ticks(TICKS);
}

/** On a log scale: 1×, then 2× and 5×, then other multiples of a power of ten. */
function tickRank(value: number): number {
  const mantissa = Math.round((value / 10 ** Math.floor(Math.log10(value) + 1e-9)) * 1000) / 1000;
  return mantissa === 1 ? 0 : mantissa === 2 || mantissa === 5 ? 1 : 2;
}

/** The x ticks whose labels fit side by side without touching, the roundest first. */
function spacedTicks(axis: Axis & { format: (value: number) => string }, candidates: readonly number[]): number[] {
  if (!('base' in axis.scale)) return [...candidates];
  const scale = axis.scale;
  const taken: [number, number][] = [];
  const ranked = [...candidates].sort((a, b) => tickRank(a) - tickRank(b));
  for (const value of ranked) {
    const half = textWidth(axis.format(value)) / 2;
    const at = scale(value);
    if (taken.every(([lo, hi]) => at + half + 8 < lo || at - half - 8 > hi)) taken.push([at - half, at + half]);
  }
  return ranked.filter((value) => taken.some(([lo, hi]) => Math.abs((lo + hi) / 2 - scale(value)) < 1e-6)).sort((a, b) => a - b);
}

const TICKS = 5;

function withFormat(axis: Axis): Axis & { format: (value: number) => string } {
  return { ...axis, format: axis.format ?? axis.scale.tickFormat(TICKS, axis.specifier) };
}

const PAD = 10;
const GAP = 6;

/**
 * Sizes the margins from the tick labels, axis titles, chart title and legend, sets the scales'
 * ranges to the plot area and draws everything but the marks.
 */
export function frame(options: FrameOptions): Frame {
  const x = withFormat(options.x);
  const y = withFormat(options.y);
  const yTicks = candidateTicks(y);
  const xCandidates = candidateTicks(x);
  const yTickWidth = Math.max(0, ...yTicks.map((v) => textWidth(y.format(v))));
  const left = PAD + FONT_SIZE + GAP + yTickWidth + GAP;
  // Room for half of any x tick label past the plot's right edge.
  const right = PAD + Math.max(0, ...xCandidates.map((v) => textWidth(x.format(v)) / 2));
  const width = Math.max(options.width, textWidth(options.title, TITLE_SIZE) + 2 * PAD, left + textWidth(x.label) + right);
  const top = PAD + TITLE_SIZE + 12 + (options.headroom ?? 0);
  const plotRight = width - right;
  // The rotated y-axis title must fit beside the plot.
  const plotBottom = top + Math.max(options.plotHeight, textWidth(y.label) + 8);
  x.scale.range([left, plotRight]);
  y.scale.range([plotBottom, top]);
  const xTicks = spacedTicks(x, xCandidates);

  const back: string[] = [];
  const front: string[] = [text(PAD, PAD + TITLE_SIZE, options.title, { size: TITLE_SIZE, bold: true })];
  for (const value of yTicks) {
    const py = y.scale(value);
    back.push(line(left, py, plotRight, py, '#e3e3e3'));
    front.push(line(left - 4, py, left, py, '#555'), text(left - GAP, py + 4, y.format(value), { anchor: 'end' }));
  }
  for (const value of xTicks) {
    const px = x.scale(value);
    back.push(line(px, top, px, plotBottom, '#f0f0f0'));
    front.push(line(px, plotBottom, px, plotBottom + 4, '#555'), text(px, plotBottom + 4 + FONT_SIZE + 2, x.format(value), { anchor: 'middle' }));
  }
  front.push(line(left, plotBottom, plotRight, plotBottom, '#555'), line(left, top, left, plotBottom, '#555'));
  const xLabelY = plotBottom + 4 + FONT_SIZE + 2 + FONT_SIZE + 8;
  front.push(text((left + plotRight) / 2, xLabelY, x.label, { anchor: 'middle' }));
  const yLabelX = PAD + FONT_SIZE - 2;
  front.push(text(yLabelX, (top + plotBottom) / 2, y.label, { anchor: 'middle', rotate: -90 }));
  let height = xLabelY + PAD;
  if (options.legend && options.legend.length > 0) {
    const drawn = legend(options.legend, PAD, xLabelY + 10, width - 2 * PAD);
    front.push(...drawn.parts);
    height = xLabelY + 10 + drawn.height + PAD / 2;
  }
  return { width, height, back, front, plot: { left, top, right: plotRight, bottom: plotBottom } };
}
