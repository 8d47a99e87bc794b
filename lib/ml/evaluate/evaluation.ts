import { KdError } from '../../errors.js';
import { predictProbabilities, timeInference } from './inference.js';
import type { LatencyResult } from './latency.js';
import { agreement, argmax, calibrationError, classificationReport, reliabilityBins, subsetAccuracy, type ClassificationReport, type ReliabilityBin } from './metrics.js';
import type { Classifier } from '../models/model-io.js';
import type { TestSet } from '../data/test-set.js';

/** The models the evaluate stage compares, in report column order. */
export const EVALUATED_MODELS = ['teacher', 'student', 'baseline'] as const;
export type EvaluatedModel = (typeof EVALUATED_MODELS)[number];

export interface ModelEvaluation {
  /** teacher, student, baseline, or a quantised variant of the student such as student_uint8. */
  name: string;
  predictions: number[];
  report: ClassificationReport;
  ece: number;
  /** Confidence bins of the reliability diagram (10 bins, as for ece). */
  reliability: ReliabilityBin[];
  params: number;
  sizeBytes: number;
  latency: LatencyResult;
  /** Accuracy on the test rows holding a word the training split never had; null when there are none (or they are not known). */
  unseenWordAccuracy: number | null;
}

export interface EvaluateOptions {
  latencyRuns: number;
  throughputBatch: number;
}

/** Scores one loaded model on the test set and times it. */
export async function evaluateClassifier(name: string, classifier: Classifier, set: TestSet, options: EvaluateOptions): Promise<ModelEvaluation> {
  const probs = await predictProbabilities(classifier, set.inputs, options.throughputBatch);
  const predictions = probs.map((row) => argmax(row));
  const reliability = reliabilityBins(probs, set.y);
  return {
    name,
    predictions,
    report: classificationReport(set.y, predictions, set.labels.length),
    ece: calibrationError(reliability),
    reliability,
    unseenWordAccuracy: subsetAccuracy(set.y, predictions, set.unseenWordRows ?? []),
    params: classifier.paramCount,
    sizeBytes: classifier.sizeBytes,
    latency: await timeInference(classifier, set.inputs, options.latencyRuns, options.throughputBatch),
  };
}

/** evaluateClassifier, with a failure named by the model's folder; the classifier is disposed of. */
export async function scoreClassifier(name: string, source: string, classifier: Classifier, set: TestSet, options: EvaluateOptions): Promise<ModelEvaluation> {
  try {
    return await evaluateClassifier(name, classifier, set, options);
  } catch (error) {
    // Typically a model trained with another text.max_len or label set than the test split's.
    throw new KdError(`${source}: cannot predict the test split (${(error as Error).message})`);
  } finally {
    await classifier.dispose();
  }
}

/**
 * A label as one segment of a dotted metric key: MLflow accepts letters, digits, `_ - . /` and
 * space in keys, and a dot would read as nesting, so everything else becomes `_`.
 */
export function labelKey(label: string): string {
  return label.replace(/[^\p{L}\p{N}_\- ]/gu, '_');
}

/** The metrics of one model under short names (accuracy, f1_macro, f1.<label>, params, …). */
export function modelMetrics(evaluation: ModelEvaluation, labels: readonly string[]): Record<string, number> {
  const { report, latency } = evaluation;
  const metrics: Record<string, number> = {
    accuracy: report.accuracy,
    precision_macro: report.precision_macro,
    recall_macro: report.recall_macro,
    f1_macro: report.f1_macro,
    ece: evaluation.ece,
    params: evaluation.params,
    size_bytes: evaluation.sizeBytes,
    latency_p50_ms: latency.p50_ms,
    latency_p95_ms: latency.p95_ms,
    throughput_per_s: latency.throughput_per_s,
  };
  // Left out, not NaN, when no test sentence holds an unseen word (test.unseen_word_examples is 0).
  if (evaluation.unseenWordAccuracy !== null) metrics.accuracy_unseen_words = evaluation.unseenWordAccuracy;
  report.perClass.forEach((scores, c) => {
    const key = labelKey(labels[c]!);
    metrics[`precision.${key}`] = scores.precision;
    metrics[`recall.${key}`] = scores.recall;
    metrics[`f1.${key}`] = scores.f1;
  });
  return metrics;
}

/** The metrics.json name of the student quantised as the export's variant `dtype`. */
export const variantName = (dtype: string) => `student_${dtype}`;

/**
 * artifacts/metrics.json: every model's metrics under `<model>.` (the student's quantised export
 * variants as `student_<dtype>.`; `accuracy_unseen_words` only when some test sentence holds a word
 * the training split never had), the test-set size, that count and class supports under `test.`, agreement
 * between models, and what the student costs and gains relative to the teacher and to the
 * baseline (the same student trained without the teacher).
 */
export function metricsJson(evaluations: Record<EvaluatedModel, ModelEvaluation>, set: TestSet, variants: readonly ModelEvaluation[] = []): Record<string, number> {
  const { teacher, student, baseline } = evaluations;
  const out: Record<string, number> = { 'test.examples': set.rows };
  if (set.unseenWordRows) out['test.unseen_word_examples'] = set.unseenWordRows.length;
  student.report.perClass.forEach((scores, c) => {
    out[`test.support.${labelKey(set.labels[c]!)}`] = scores.support;
  });
  for (const evaluation of [...EVALUATED_MODELS.map((name) => evaluations[name]), ...variants]) {
    for (const [key, value] of Object.entries(modelMetrics(evaluation, set.labels))) out[`${evaluation.name}.${key}`] = value;
  }
  out['teacher_student.agreement'] = agreement(teacher.predictions, student.predictions);
  out['teacher_baseline.agreement'] = agreement(teacher.predictions, baseline.predictions);
  // Ratios < 1 and speed-ups > 1 favour the student; parameter counts and latencies are never 0.
  out['student.param_ratio'] = student.params / teacher.params;
  out['student.size_ratio'] = student.sizeBytes / teacher.sizeBytes;
  out['student.latency_speedup'] = teacher.latency.p50_ms / student.latency.p50_ms;
  out['student.throughput_speedup'] = student.latency.throughput_per_s / teacher.latency.throughput_per_s;
  out['student.distillation_gain'] = student.report.accuracy - baseline.report.accuracy;
  out['student.distillation_gain_f1'] = student.report.f1_macro - baseline.report.f1_macro;
  return out;
}
