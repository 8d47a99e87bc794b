import { scaleLinear } from 'd3-scale';
import type { ReliabilityBin } from '../metrics.js';
import { frame } from './frame.js';
import { boxSwatch, escapeXml, line, lineSwatch, px, svgDocument, text } from './svg.js';

const BAR = '#56B4E9';
const GAP = '#D55E00';
const COUNT_SIZE = 10;

/**
 * A reliability diagram (Guo et al. 2017): per confidence bin, the share predicted correctly (bar)
 * against the mean confidence (the diagonal is perfect calibration); the shaded gap is what ECE
 * averages, and each bar carries its number of test sentences.
 */
export function reliabilityChart(id: string, title: string, bins: readonly ReliabilityBin[]): string {
  // Stripes show the gap over the bar and over the white alike; the id is unique per chart, as charts share one page.
  const hatch = `hatch-${id}`;
  const gapFill = `url(#${hatch})`;
  const percent = (v: number) => `${Math.round(v * 100)}%`;
  const x = scaleLinear().domain([0, 1]);
  const y = scaleLinear().domain([0, 1]);
  const f = frame({
    title,
    width: 400,
    plotHeight: 200,
    headroom: COUNT_SIZE + 4,
    x: { scale: x, label: 'confidence (top-class probability)', format: percent, ticks: [0, 0.2, 0.4, 0.6, 0.8, 1] },
    y: { scale: y, label: 'accuracy', format: percent, ticks: [0, 0.25, 0.5, 0.75, 1] },
    legend: [
      { label: 'accuracy in bin', swatch: boxSwatch(BAR) },
      { label: 'gap to confidence', swatch: boxSwatch(gapFill) },
      { label: 'perfect calibration', swatch: lineSwatch('#555', true) },
    ],
  });
  const marks = [
    `<defs><pattern id="${hatch}" width="5" height="5" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="2.2" height="5" fill="${GAP}"/></pattern></defs>`,
  ];
  for (const bin of bins) {
    if (bin.count === 0) continue;
    const left = x(bin.lower) + 1;
    const width = x(bin.upper) - x(bin.lower) - 2;
    const tooltip = `${bin.count} sentences with confidence ${percent(bin.lower)}–${percent(bin.upper)}: ${percent(bin.accuracy)} correct, mean confidence ${percent(bin.confidence)}`;
    marks.push(`<rect x="${px(left)}" y="${px(y(bin.accuracy))}" width="${px(width)}" height="${px(y(0) - y(bin.accuracy))}" fill="${BAR}"><title>${escapeXml(tooltip)}</title></rect>`);
    const [low, high] = [Math.min(bin.accuracy, bin.confidence), Math.max(bin.accuracy, bin.confidence)];
    marks.push(`<rect x="${px(left)}" y="${px(y(high))}" width="${px(width)}" height="${px(y(low) - y(high))}" fill="${gapFill}" stroke="${GAP}" stroke-width="0.8"/>`);
    marks.push(text(left + width / 2, y(high) - 3, String(bin.count), { anchor: 'middle', size: COUNT_SIZE, fill: '#333' }));
  }
  marks.push(line(x(0), y(0), x(1), y(1), '#555', 'stroke-dasharray="5 3"'));
  return svgDocument(id, title, f.width, f.height, [...f.back, ...marks, ...f.front]);
}
