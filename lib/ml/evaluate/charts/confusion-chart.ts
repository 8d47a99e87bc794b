import { FONT_SIZE, px, svgDocument, text, textWidth, TITLE_SIZE } from './svg.js';

const PAD = 10;
const MAX_CELL = 110;

/**
 * A confusion matrix as a heat map (rows = true class, columns = predicted), counts in the cells.
 * Margins come from the label widths; column labels turn vertical when wider than a cell.
 */
export function confusionChart(id: string, title: string, labels: readonly string[], matrix: readonly (readonly number[])[]): string {
  const max = Math.max(1, ...matrix.flat());
  const labelWidth = Math.max(...labels.map((label) => textWidth(label)));
  // Cells grow to hold their column label, up to a point; longer labels stand vertically instead.
  const vertical = labelWidth + 12 > MAX_CELL;
  const cell = Math.max(48, textWidth(String(max)) + 14, vertical ? 0 : labelWidth + 12);
  const left = PAD + FONT_SIZE + 8 + labelWidth + 8;
  const top = PAD + TITLE_SIZE + 10 + FONT_SIZE + 8 + (vertical ? labelWidth : FONT_SIZE) + 8;
  const grid = cell * labels.length;
  const width = Math.max(left + grid + PAD, textWidth(title, TITLE_SIZE) + 2 * PAD);
  const height = top + grid + PAD;

  const parts = [text(PAD, PAD + TITLE_SIZE, title, { size: TITLE_SIZE, bold: true })];
  parts.push(text(left + grid / 2, PAD + TITLE_SIZE + 10 + FONT_SIZE, 'predicted', { anchor: 'middle' }));
  parts.push(text(PAD + FONT_SIZE - 2, top + grid / 2, 'true', { anchor: 'middle', rotate: -90 }));
  matrix.forEach((row, t) =>
    row.forEach((count, p) => {
      const shade = Math.round(255 - (count / max) * 200);
      const x = left + p * cell;
      const y = top + t * cell;
      parts.push(`<rect x="${px(x)}" y="${px(y)}" width="${cell}" height="${cell}" fill="rgb(${shade},${shade},255)" stroke="#fff"/>`);
      parts.push(text(x + cell / 2, y + cell / 2 + 4, String(count), { anchor: 'middle', ...(shade < 130 ? { fill: '#fff' } : {}) }));
    }),
  );
  labels.forEach((label, i) => {
    parts.push(text(left - 8, top + i * cell + cell / 2 + 4, label, { anchor: 'end' }));
    const cx = left + i * cell + cell / 2;
    parts.push(vertical ? text(cx + 4, top - 8, label, { rotate: -90 }) : text(cx, top - 8, label, { anchor: 'middle' }));
  });
  return svgDocument(id, title, width, height, parts);
}
