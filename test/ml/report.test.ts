import { describe, expect, it } from 'vitest';
import { confusionSvg, htmlTable, markdownTable } from '../../lib/ml/evaluate/report.js';

const models = [
  { name: 'teacher', metrics: { accuracy: 0.875, params: 120000 } },
  { name: 'student', metrics: { accuracy: 0.86, params: 9000, latency_p50_ms: 0.25 } },
];

describe('report', () => {
  it('puts the models side by side, with a dash where a metric is missing', () => {
    expect(markdownTable(models)).toBe(
      ['| metric | teacher | student |', '| --- | ---: | ---: |', '| accuracy | 0.8750 | 0.8600 |', '| params | 120,000 | 9,000 |', '| latency_p50_ms | – | 0.2500 |'].join('\n'),
    );
  });

  it('escapes names in HTML', () => {
    expect(htmlTable([{ name: '<b>', metrics: { accuracy: 1 } }])).toContain('<th>&#60;b&#62;</th>');
  });

  it('draws one cell per matrix entry with its count and the labels', () => {
    const svg = confusionSvg('student', ['négatif', 'positif'], [
      [40, 2],
      [5, 33],
    ]);
    expect(svg.match(/<rect /g)).toHaveLength(4);
    for (const text of ['>40<', '>2<', '>5<', '>33<', '>négatif<', '>positif<']) expect(svg).toContain(text);
  });
});
