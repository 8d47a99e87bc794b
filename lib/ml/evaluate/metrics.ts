/** Classification metrics on plain arrays (no tfjs), so they can be checked by hand. */

/** matrix[true][predicted] = count. */
export function confusionMatrix(yTrue: readonly number[], yPred: readonly number[], numClasses: number): number[][] {
  if (yTrue.length !== yPred.length) throw new RangeError('yTrue and yPred differ in length');
  const matrix = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  yTrue.forEach((t, i) => {
    matrix[t]![yPred[i]!]! += 1;
  });
  return matrix;
}

export interface ClassScores {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface ClassificationReport {
  accuracy: number;
  perClass: ClassScores[];
  precision_macro: number;
  recall_macro: number;
  f1_macro: number;
  confusion: number[][];
}

const ratio = (num: number, den: number) => (den === 0 ? 0 : num / den);
const mean = (values: readonly number[]) => ratio(values.reduce((a, b) => a + b, 0), values.length);

/** Accuracy on the given rows only; null when there are none (no NaN in metrics.json). */
export function subsetAccuracy(yTrue: readonly number[], yPred: readonly number[], rows: readonly number[]): number | null {
  if (rows.length === 0) return null;
  return rows.filter((row) => yTrue[row] === yPred[row]).length / rows.length;
}

/** Accuracy, per-class and macro precision/recall/F1 (0 where undefined, as scikit-learn's zero_division=0). */
export function classificationReport(yTrue: readonly number[], yPred: readonly number[], numClasses: number): ClassificationReport {
  const confusion = confusionMatrix(yTrue, yPred, numClasses);
  const perClass = confusion.map((row, c) => {
    const tp = row[c]!;
    const predicted = confusion.reduce((sum, r) => sum + r[c]!, 0);
    const support = row.reduce((a, b) => a + b, 0);
    const precision = ratio(tp, predicted);
    const recall = ratio(tp, support);
    return { precision, recall, f1: ratio(2 * precision * recall, precision + recall), support };
  });
  const correct = confusion.reduce((sum, row, c) => sum + row[c]!, 0);
  return {
    accuracy: ratio(correct, yTrue.length),
    perClass,
    precision_macro: mean(perClass.map((s) => s.precision)),
    recall_macro: mean(perClass.map((s) => s.recall)),
    f1_macro: mean(perClass.map((s) => s.f1)),
    confusion,
  };
}

/** Share of rows on which two models predict the same class (teacher–student agreement). */
export function agreement(a: readonly number[], b: readonly number[]): number {
  return ratio(
    a.filter((value, i) => value === b[i]).length,
    a.length,
  );
}

export function argmax(row: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** Numerically stable softmax of one row of logits. */
export function softmax(logits: readonly number[]): number[] {
  const max = Math.max(...logits);
  const exps = logits.map((value) => Math.exp(value - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((value) => value / sum);
}

/** One bin of a reliability diagram: the rows whose top-class confidence falls in [lower, upper). */
export interface ReliabilityBin {
  lower: number;
  upper: number;
  count: number;
  /** Mean top-class probability of the bin's rows (0 when empty). */
  confidence: number;
  /** Share of the bin's rows predicted correctly (0 when empty). */
  accuracy: number;
}

/** Rows binned by top-class confidence into `bins` equal-width bins (the last one includes 1). */
export function reliabilityBins(probs: readonly (readonly number[])[], yTrue: readonly number[], bins = 10): ReliabilityBin[] {
  const count = new Array<number>(bins).fill(0);
  const correct = new Array<number>(bins).fill(0);
  const confidence = new Array<number>(bins).fill(0);
  probs.forEach((row, i) => {
    const pred = argmax(row);
    const conf = row[pred]!;
    const bin = Math.min(bins - 1, Math.floor(conf * bins));
    count[bin]! += 1;
    confidence[bin]! += conf;
    if (pred === yTrue[i]) correct[bin]! += 1;
  });
  return count.map((n, b) => ({ lower: b / bins, upper: (b + 1) / bins, count: n, confidence: ratio(confidence[b]!, n), accuracy: ratio(correct[b]!, n) }));
}

/**
 * Expected calibration error (Guo et al. 2017) of reliability bins: the mean |accuracy − confidence|
 * over the bins, weighted by their share of the rows.
 */
export function calibrationError(bins: readonly ReliabilityBin[]): number {
  const rows = bins.reduce((sum, bin) => sum + bin.count, 0);
  return bins.reduce((sum, bin) => sum + ratio(bin.count, rows) * Math.abs(bin.accuracy - bin.confidence), 0);
}

/** The p-th percentile (0–100) by linear interpolation between closest ranks. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}
