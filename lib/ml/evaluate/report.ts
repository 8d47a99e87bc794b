/** The evaluation report a person reads: a side-by-side table (Markdown and HTML) and confusion-matrix SVGs. */

export interface ModelSummary {
  name: string;
  /** Flat metric name → value, e.g. accuracy, f1_macro, params, latency_p50_ms. */
  metrics: Record<string, number>;
}

export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function format(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return '–';
  return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toFixed(4);
}

/** Metric rows in the order first seen across the models, so every model's keys appear. */
function metricNames(models: readonly ModelSummary[]): string[] {
  return [...new Set(models.flatMap((model) => Object.keys(model.metrics)))];
}

export function markdownTable(models: readonly ModelSummary[]): string {
  const header = `| metric | ${models.map((m) => m.name).join(' | ')} |`;
  const rule = `| --- | ${models.map(() => '---:').join(' | ')} |`;
  const rows = metricNames(models).map((name) => `| ${name} | ${models.map((m) => format(m.metrics[name])).join(' | ')} |`);
  return [header, rule, ...rows].join('\n');
}

export function htmlTable(models: readonly ModelSummary[]): string {
  const head = `<tr><th>metric</th>${models.map((m) => `<th>${escapeHtml(m.name)}</th>`).join('')}</tr>`;
  const rows = metricNames(models).map(
    (name) => `<tr><td>${escapeHtml(name)}</td>${models.map((m) => `<td>${format(m.metrics[name])}</td>`).join('')}</tr>`,
  );
  return `<table>\n<thead>${head}</thead>\n<tbody>\n${rows.join('\n')}\n</tbody>\n</table>`;
}

/** A confusion matrix as an SVG heat map (rows = true class, columns = predicted), counts in cells. */
export function confusionSvg(title: string, labels: readonly string[], matrix: readonly (readonly number[])[]): string {
  const cell = 56;
  const margin = 120;
  const size = margin + cell * labels.length + 20;
  const max = Math.max(1, ...matrix.flat());
  const parts: string[] = [];
  matrix.forEach((row, t) =>
    row.forEach((count, p) => {
      const shade = Math.round(255 - (count / max) * 200);
      const x = margin + p * cell;
      const y = margin + t * cell;
      parts.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="rgb(${shade},${shade},255)" stroke="#fff"/>`);
      parts.push(`<text x="${x + cell / 2}" y="${y + cell / 2 + 5}" text-anchor="middle">${count}</text>`);
    }),
  );
  labels.forEach((label, i) => {
    const name = escapeHtml(label);
    parts.push(`<text x="${margin - 6}" y="${margin + i * cell + cell / 2 + 5}" text-anchor="end">${name}</text>`);
    parts.push(`<text x="${margin + i * cell + cell / 2}" y="${margin - 8}" text-anchor="middle">${name}</text>`);
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" font-family="sans-serif" font-size="13">`,
    `<text x="${size / 2}" y="20" text-anchor="middle" font-weight="bold">${escapeHtml(title)}</text>`,
    `<text x="${margin + (cell * labels.length) / 2}" y="${margin - 30}" text-anchor="middle">predicted</text>`,
    `<text x="16" y="${margin + (cell * labels.length) / 2}" transform="rotate(-90 16 ${margin + (cell * labels.length) / 2})" text-anchor="middle">true</text>`,
    ...parts,
    '</svg>',
  ].join('\n');
}
