/**
 * SVG building blocks shared by the report's charts. Charts are laid out here, without a browser,
 * so text widths are estimated on the generous side (DejaVu Sans, the widest common sans-serif
 * font, Debian's default) and every margin is sized from the text it must hold.
 */
export const FONT_SIZE = 12;
export const TITLE_SIZE = 13;
const FONT_FAMILY = 'system-ui, -apple-system, &quot;Segoe UI&quot;, Roboto, &quot;DejaVu Sans&quot;, sans-serif';

/** Okabe–Ito colours: distinguishable with every common colour-vision deficiency. */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'] as const;

/** Escapes text for XML and HTML alike (content and attribute values). */
export const escapeXml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const WIDE = /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u2014\u2013%@mwMW×]|\p{Extended_Pictographic}/u;
const NARROW = /[iljfrtI.,:;'|!()[\] ]/;

/** An upper estimate of the rendered width of `text` in pixels at font size `size`. */
export function textWidth(text: string, size = FONT_SIZE): number {
  let em = 0;
  for (const ch of text) {
    if (WIDE.test(ch)) em += 1;
    else if (NARROW.test(ch)) em += 0.42;
    else if (/\p{Lu}/u.test(ch)) em += 0.78;
    else em += 0.65;
  }
  return Math.ceil(em * size);
}

/** Rounded to 0.1 px: short, stable SVG. */
export const px = (value: number) => String(Math.round(value * 10) / 10);

interface TextOptions {
  anchor?: 'start' | 'middle' | 'end';
  size?: number;
  bold?: boolean;
  fill?: string;
  /** Degrees around (x, y), e.g. -90 for a y-axis label. */
  rotate?: number;
}

export function text(x: number, y: number, content: string, options: TextOptions = {}): string {
  const attrs = [`x="${px(x)}"`, `y="${px(y)}"`];
  if (options.anchor && options.anchor !== 'start') attrs.push(`text-anchor="${options.anchor}"`);
  if (options.size && options.size !== FONT_SIZE) attrs.push(`font-size="${options.size}"`);
  if (options.bold) attrs.push('font-weight="bold"');
  if (options.fill) attrs.push(`fill="${options.fill}"`);
  if (options.rotate) attrs.push(`transform="rotate(${options.rotate} ${px(x)} ${px(y)})"`);
  return `<text ${attrs.join(' ')}>${escapeXml(content)}</text>`;
}

export function line(x1: number, y1: number, x2: number, y2: number, stroke: string, extra = ''): string {
  return `<line x1="${px(x1)}" y1="${px(y1)}" x2="${px(x2)}" y2="${px(y2)}" stroke="${stroke}"${extra ? ` ${extra}` : ''}/>`;
}

export type Shape = 'circle' | 'square' | 'diamond' | 'triangle' | 'triangle-down';
export const SHAPES: readonly Shape[] = ['circle', 'square', 'diamond', 'triangle', 'triangle-down'];

/** A point marker centred on (x, y), `r` its half size. */
export function marker(shape: Shape, x: number, y: number, r: number, color: string, tooltip?: string): string {
  const style = `fill="${color}" fill-opacity="0.75" stroke="${color}" stroke-width="1.5"`;
  const title = tooltip ? `<title>${escapeXml(tooltip)}</title>` : '';
  const close = title ? `>${title}</` : '/>';
  const end = (tag: string) => (title ? `${close}${tag}>` : close);
  const poly = (pts: [number, number][]) => `<polygon points="${pts.map(([a, b]) => `${px(a)},${px(b)}`).join(' ')}" ${style}${end('polygon')}`;
  switch (shape) {
    case 'circle':
      return `<circle cx="${px(x)}" cy="${px(y)}" r="${px(r)}" ${style}${end('circle')}`;
    case 'square':
      return `<rect x="${px(x - r * 0.85)}" y="${px(y - r * 0.85)}" width="${px(r * 1.7)}" height="${px(r * 1.7)}" ${style}${end('rect')}`;
    case 'diamond':
      return poly([[x, y - r * 1.2], [x + r * 1.2, y], [x, y + r * 1.2], [x - r * 1.2, y]]);
    case 'triangle':
      return poly([[x, y - r * 1.2], [x + r * 1.1, y + r * 0.8], [x - r * 1.1, y + r * 0.8]]);
    case 'triangle-down':
      return poly([[x, y + r * 1.2], [x + r * 1.1, y - r * 0.8], [x - r * 1.1, y - r * 0.8]]);
  }
}

/** A legend entry: its label and how to draw its 20 × 12 px swatch with the top-left corner at (x, y). */
export interface LegendEntry {
  label: string;
  swatch(x: number, y: number): string;
}

const SWATCH = 20;
const ROW = 18;

/** Legend entries flowed into rows no wider than `width`, starting at (x, y); returns the parts and the height used. */
export function legend(entries: readonly LegendEntry[], x: number, y: number, width: number): { parts: string[]; height: number } {
  const parts: string[] = [];
  let cx = x;
  let row = 0;
  for (const entry of entries) {
    const w = SWATCH + 5 + textWidth(entry.label);
    if (cx > x && cx + w > x + width) {
      cx = x;
      row++;
    }
    const top = y + row * ROW;
    parts.push(entry.swatch(cx, top), text(cx + SWATCH + 5, top + 10, entry.label));
    cx += w + 14;
  }
  return { parts, height: entries.length === 0 ? 0 : (row + 1) * ROW };
}

/** A line swatch (solid or dashed) for curve legends. */
export const lineSwatch = (color: string, dashed: boolean) => (x: number, y: number) =>
  line(x, y + 6, x + SWATCH, y + 6, color, `stroke-width="2"${dashed ? ' stroke-dasharray="5 3"' : ''}`);

/** A filled box swatch for bar legends. */
export const boxSwatch = (fill: string, opacity = 1) => (x: number, y: number) =>
  `<rect x="${px(x + 4)}" y="${px(y)}" width="12" height="12" fill="${fill}" fill-opacity="${opacity}"/>`;

/**
 * The whole chart: `id` becomes data-chart (the report page and its tests find charts by it) and
 * the title is also the accessible name.
 */
export function svgDocument(id: string, title: string, width: number, height: number, body: readonly string[]): string {
  const w = Math.ceil(width);
  const h = Math.ceil(height);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" font-family="${FONT_FAMILY}" font-size="${FONT_SIZE}" data-chart="${escapeXml(id)}" role="img">`,
    `<title>${escapeXml(title)}</title>`,
    ...body,
    '</svg>',
  ].join('\n');
}
