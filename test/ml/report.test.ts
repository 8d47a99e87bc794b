import { describe, expect, it } from 'vitest';
import { confusionChart } from '../../lib/ml/evaluate/charts/confusion-chart.js';
import { formatBytes, formatDuration, formatInteger, formatPercent } from '../../lib/ml/evaluate/format.js';
import { htmlTable, markdownTable } from '../../lib/ml/evaluate/report.js';

const table = {
  head: ['metric', 'teacher', 'student'],
  rows: [
    ['accuracy', '87.5 %', '86.0 %'],
    ['a | b', '1', '2'],
  ],
};

describe('report', () => {
  it('puts the models side by side', () => {
    expect(markdownTable(table)).toBe(['| metric | teacher | student |', '| --- | ---: | ---: |', '| accuracy | 87.5 % | 86.0 % |', '| a \\| b | 1 | 2 |'].join('\n'));
  });

  it('escapes names in HTML', () => {
    expect(htmlTable({ head: ['metric', '<b>'], rows: [] })).toContain('<th scope="col">&#60;b&#62;</th>');
  });

  it('formats numbers for people', () => {
    expect(formatInteger(769346)).toBe('769,346');
    expect(formatPercent(0.84563)).toBe('84.6\u00a0%');
    expect([0.2134, 52.61, 364.5816, 3664.5816].map(formatDuration)).toEqual(['0.21\u00a0ms', '52.6\u00a0ms', '365\u00a0ms', '3.66\u00a0s']);
    expect([512, 205544, 3077411].map(formatBytes)).toEqual(['512\u00a0B', '206\u00a0kB', '3.08\u00a0MB']);
  });

  it('draws one cell per matrix entry with its count and the labels', () => {
    const svg = confusionChart('confusion-student', 'student', ['négatif', 'positif'], [
      [40, 2],
      [5, 33],
    ]);
    expect(svg.match(/<rect /g)).toHaveLength(4);
    for (const text of ['>40<', '>2<', '>5<', '>33<', '>négatif<', '>positif<']) expect(svg).toContain(text);
  });
});
