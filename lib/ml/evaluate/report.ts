/** Tables of the evaluation report, in Markdown and HTML, from cells already formatted for people. */

import { escapeXml as escapeHtml } from './charts/svg.js';

export interface Table {
  /** Column headings; the first heads the row names. */
  head: readonly string[];
  /** Each row: its name, then one cell per remaining column. */
  rows: readonly (readonly string[])[];
}


const mdCell = (text: string) => text.replace(/\|/g, '\\|');

export function markdownTable(table: Table): string {
  const header = `| ${table.head.map(mdCell).join(' | ')} |`;
  const rule = `| ${table.head.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`;
  const rows = table.rows.map((row) => `| ${row.map(mdCell).join(' | ')} |`);
  return [header, rule, ...rows].join('\n');
}

export function htmlTable(table: Table): string {
  const head = `<tr>${table.head.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('')}</tr>`;
  const rows = table.rows.map(([name, ...cells]) => `<tr><th scope="row">${escapeHtml(name ?? '')}</th>${cells.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`);
  return `<table>\n<thead>${head}</thead>\n<tbody>\n${rows.join('\n')}\n</tbody>\n</table>`;
}
