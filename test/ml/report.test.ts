import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { confusionChart } from '../../lib/ml/evaluate/charts/confusion-chart.js';
import { formatBytes, formatDuration, formatInteger, formatPercent } from '../../lib/ml/evaluate/format.js';
import { historyPanels, readHistories } from '../../lib/ml/evaluate/history.js';
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
    expect([0, 0.000196, 0.0123, 1].map((share) => formatPercent(share))).toEqual(['0.0\u00a0%', '0.020\u00a0%', '1.2\u00a0%', '100.0\u00a0%']);
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

  it('reads training histories generically: loss and accuracy panels first, a curve per member and split', () => {
    const rows = [
      { epoch: 1, member_0_loss: 0.9, member_0_val_loss: 1, member_1_loss: 0.8, member_1_val_loss: 0.95, member_0_accuracy: 0.5, member_0_learning_rate: 0.1 },
      { epoch: 2, member_0_loss: 0.6, member_0_val_loss: 0.9, member_0_accuracy: 0.7, member_0_learning_rate: 0.05 }, // member 1 stopped early
    ];
    const panels = historyPanels(rows, 'epoch');
    expect(panels.map((p) => p.metric)).toEqual(['loss', 'accuracy', 'learning_rate']);
    expect(panels[0]!.curves.map((c) => [c.label, c.points])).toEqual([
      ['member 1 training', [[1, 0.9], [2, 0.6]]],
      ['member 1 validation', [[1, 1], [2, 0.9]]],
      ['member 2 training', [[1, 0.8]]],
      ['member 2 validation', [[1, 0.95]]],
    ]);
    expect(panels[2]!.curves.map((c) => c.label)).toEqual(['member 1']);
    expect(historyPanels([{ step: 10, acc: 0.5, lr: 0.01 }], 'step').map((p) => [p.metric, p.curves[0]!.label])).toEqual([['accuracy', 'accuracy'], ['lr', 'lr']]);
  });

  it('skips a plots file that is not a training history, with a warning naming it', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'kd-history-'));
    mkdirSync(path.join(root, 'plots'));
    writeFileSync(path.join(root, 'plots/student-history.json'), JSON.stringify([{ epoch: 1, loss: 1 }]));
    writeFileSync(path.join(root, 'plots/teacher-history.json'), JSON.stringify([{ epoch: 1, loss: 2 }]));
    writeFileSync(path.join(root, 'plots/roc.json'), JSON.stringify([{ fpr: 0, tpr: 0 }]));
    writeFileSync(path.join(root, 'plots/broken.json'), '[{');
    const warnings: string[] = [];
    const histories = readHistories(root, 'plots', ['teacher', 'student'], (w) => warnings.push(w));
    expect(histories.map((h) => [h.model, h.file])).toEqual([['teacher', 'plots/teacher-history.json'], ['student', 'plots/student-history.json']]);
    expect(warnings).toEqual([expect.stringMatching(/^plots\/broken\.json: not valid JSON/), 'plots/roc.json: every row needs an "epoch" or a "step" (not a training history, left out of the report)']);
    rmSync(root, { recursive: true });
  });
});
