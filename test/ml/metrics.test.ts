import { describe, expect, it } from 'vitest';
import { agreement, calibrationError, classificationReport, confusionMatrix, percentile, reliabilityBins, softmax } from '../../lib/ml/evaluate/metrics.js';

describe('classification metrics', () => {
  // 3 classes, 8 rows. Confusion (true × pred): [[2,1,0],[0,2,1],[1,0,1]].
  const yTrue = [0, 0, 0, 1, 1, 1, 2, 2];
  const yPred = [0, 0, 1, 1, 1, 2, 0, 2];

  it('counts the confusion matrix as true × predicted', () => {
    expect(confusionMatrix(yTrue, yPred, 3)).toEqual([
      [2, 1, 0],
      [0, 2, 1],
      [1, 0, 1],
    ]);
  });

  it('matches hand-computed accuracy, per-class and macro scores', () => {
    const report = classificationReport(yTrue, yPred, 3);
    expect(report.accuracy).toBeCloseTo(5 / 8);
    // class 0: P = 2/3, R = 2/3; class 1: P = 2/3, R = 2/3; class 2: P = 1/2, R = 1/2.
    expect(report.perClass.map((s) => s.precision)).toEqual([2 / 3, 2 / 3, 1 / 2].map((v) => expect.closeTo(v, 10)));
    expect(report.perClass.map((s) => s.recall)).toEqual([2 / 3, 2 / 3, 1 / 2].map((v) => expect.closeTo(v, 10)));
    expect(report.perClass.map((s) => s.support)).toEqual([3, 3, 2]);
    expect(report.f1_macro).toBeCloseTo((2 / 3 + 2 / 3 + 1 / 2) / 3);
  });

  it('scores a class never predicted as 0 precision, not NaN', () => {
    const report = classificationReport([0, 1], [0, 0], 2);
    expect(report.perClass[1]).toEqual({ precision: 0, recall: 0, f1: 0, support: 1 });
    expect(report.perClass[0]!.precision).toBe(0.5);
  });

  it('measures agreement between two models', () => {
    expect(agreement([0, 1, 2, 1], [0, 1, 1, 1])).toBe(0.75);
  });
});

describe('calibration error', () => {
  it('is 0 for a perfectly calibrated model', () => {
    // Two rows at confidence 0.5 (bin 5), one right, one wrong.
    expect(calibrationError(reliabilityBins([[0.5, 0.5], [0.5, 0.5]], [0, 1]))).toBeCloseTo(0);
  });

  it('matches a hand-computed value', () => {
    // Bin 9: conf 0.9 and 0.95, both right → |1 − 0.925| = 0.075, weight 2/3.
    // Bin 6: conf 0.6, wrong → |0 − 0.6| = 0.6, weight 1/3.  ECE = 0.05 + 0.2 = 0.25.
    const probs = [[0.9, 0.1], [0.05, 0.95], [0.6, 0.4]];
    expect(calibrationError(reliabilityBins(probs, [0, 1, 1]))).toBeCloseTo(0.25);
  });

  it('rests on reliability bins a diagram can draw', () => {
    const bins = reliabilityBins([[0.9, 0.1], [0.05, 0.95], [0.6, 0.4], [0, 1]], [0, 1, 1, 0]);
    expect(bins).toHaveLength(10);
    expect(bins.map((b) => b.count)).toEqual([0, 0, 0, 0, 0, 0, 1, 0, 0, 3]);
    expect(bins[9]).toMatchObject({ lower: 0.9, upper: 1, accuracy: 2 / 3 });
    expect(bins[9]!.confidence).toBeCloseTo((0.9 + 0.95 + 1) / 3);
    expect(bins[0]).toMatchObject({ count: 0, confidence: 0, accuracy: 0 });
  });
});

describe('helpers', () => {
  it('softmax is stable for large logits and sums to 1', () => {
    const p = softmax([1000, 1000, 998]);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1);
    expect(p[0]).toBeCloseTo(p[1]!);
  });

  it('percentile interpolates between ranks', () => {
    expect(percentile([4, 1, 3, 2], 50)).toBe(2.5);
    expect(percentile([1, 2, 3, 4, 5], 95)).toBeCloseTo(4.8);
  });
});
