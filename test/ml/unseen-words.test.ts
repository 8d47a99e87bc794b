import { describe, expect, it } from 'vitest';
import { unseenWordRows, type TestSet } from '../../lib/ml/data/test-set.js';
import { EVALUATED_MODELS, evaluateClassifier, metricsJson, type EvaluatedModel, type ModelEvaluation } from '../../lib/ml/evaluate/evaluation.js';
import { renderEvaluationReport, unseenWordsLine } from '../../lib/ml/evaluate/evaluation-report.js';
import { subsetAccuracy } from '../../lib/ml/evaluate/metrics.js';
import type { Classifier, ClassifierInput } from '../../lib/ml/models/model-io.js';

const TRAIN = [
  ['the', 'film', 'was', 'good'],
  ['the', 'film', 'was', 'bad'],
];
// Rows 1 and 3 hold a word no training sentence has ("great", "show"); the vocabulary would not tell.
const TEST = [
  { tokens: ['the', 'film', 'was', 'good'], y: 1 },
  { tokens: ['the', 'film', 'was', 'great'], y: 1 },
  { tokens: ['bad', 'film'], y: 0 },
  { tokens: ['the', 'show', 'was', 'bad'], y: 0 },
];

function testSet(unseen: readonly number[]): TestSet {
  const inputs = TEST.map(({ tokens }) => ({ text: tokens.join(' '), tokens }));
  return { labels: ['negative', 'positive'], vocab: {}, inputs, y: TEST.map((t) => t.y), rows: TEST.length, maxLen: 4, unseenWordRows: unseen };
}

/** A classifier that answers from a word list: positive when a sentence holds one of `positive`. */
function wordClassifier(positive: readonly string[]): Classifier {
  const logits = (input: ClassifierInput) => (input.tokens.some((t) => positive.includes(t)) ? [0, 2] : [2, 0]);
  return { predictLogits: async (inputs) => inputs.map(logits), paramCount: 10, sizeBytes: 40, dispose: async () => {} };
}

async function evaluateAll(set: TestSet): Promise<{ evaluations: Record<EvaluatedModel, ModelEvaluation>; variants: ModelEvaluation[] }> {
  const options = { latencyRuns: 2, throughputBatch: 2 };
  // teacher knows "great" (4/4 right), student does not (3/4), baseline calls everything negative (2/4).
  const words: Record<EvaluatedModel, string[]> = { teacher: ['good', 'great'], student: ['good'], baseline: [] };
  const evaluations = {} as Record<EvaluatedModel, ModelEvaluation>;
  for (const name of EVALUATED_MODELS) evaluations[name] = await evaluateClassifier(name, wordClassifier(words[name]), set, options);
  return { evaluations, variants: [await evaluateClassifier('student_uint8', wordClassifier(['good']), set, options)] };
}

describe('accuracy on test sentences holding a word the training split never had', () => {
  it('finds the rows by the training tokens and scores only them', () => {
    expect(unseenWordRows(TRAIN, TEST.map((t) => t.tokens))).toEqual([1, 3]);
    expect(unseenWordRows([], [['a'], []])).toEqual([0]);
    expect(subsetAccuracy([1, 1, 0, 0], [1, 0, 0, 1], [1, 3])).toBe(0);
    expect(subsetAccuracy([1, 1, 0, 0], [1, 0, 0, 1], [0, 2])).toBe(1);
    expect(subsetAccuracy([1], [1], [])).toBeNull();
  });

  it('writes <model>.accuracy_unseen_words for every model and variant, and test.unseen_word_examples; the report shows them', async () => {
    const set = testSet(unseenWordRows(TRAIN, TEST.map((t) => t.tokens)));
    const { evaluations, variants } = await evaluateAll(set);
    const metrics = metricsJson(evaluations, set, variants);
    expect(metrics['test.unseen_word_examples']).toBe(2);
    expect(metrics['teacher.accuracy_unseen_words']).toBe(1);
    expect(metrics['student.accuracy_unseen_words']).toBe(0.5);
    expect(metrics['student_uint8.accuracy_unseen_words']).toBe(0.5);
    expect(metrics['baseline.accuracy_unseen_words']).toBe(0.5);
    expect(metrics['student.accuracy']).toBe(0.75);

    const line = unseenWordsLine(metrics);
    expect(line).toBe('2 of 4 test sentences (50.0\u00a0%) hold a word the training split never had; on them, accuracy is teacher 100.0\u00a0%, student 50.0\u00a0%, baseline 50.0\u00a0% (the student 50.0 points below the teacher).');
    const files = renderEvaluationReport({ evaluations, variants, metrics, histories: [], transfer: null, context: { labels: set.labels, testExamples: set.rows, backend: 'cpu', tfPackage: 'tfjs', generatedAt: 'now' } });
    expect(files.get('report.md')).toContain('| Accuracy, sentences with an unseen word | 100.0\u00a0% | 50.0\u00a0% | 50.0\u00a0% |');
    expect(files.get('index.html')).toContain('<th scope="row">Accuracy, sentences with an unseen word</th><td>100.0\u00a0%</td>');
    expect(files.get('index.html')).toContain('hold a word the training split never had');
  });

  it('with no such sentence: the count is 0, no model key (no NaN), and the report says so', async () => {
    const set = testSet([]);
    const { evaluations, variants } = await evaluateAll(set);
    const metrics = metricsJson(evaluations, set, variants);
    expect(metrics['test.unseen_word_examples']).toBe(0);
    expect(Object.keys(metrics).filter((key) => key.includes('unseen_words'))).toEqual([]);
    expect(Object.values(metrics).every(Number.isFinite)).toBe(true);
    expect(unseenWordsLine(metrics)).toMatch(/^No test sentence holds a word the training split never had/);
    const files = renderEvaluationReport({ evaluations, variants, metrics, histories: [], transfer: null, context: { labels: set.labels, testExamples: set.rows, backend: 'cpu', tfPackage: 'tfjs', generatedAt: 'now' } });
    expect(files.get('report.md')).toContain('| Accuracy, sentences with an unseen word | — | — | — |');
    // Without the count (an older metrics.json) there is nothing to say.
    expect(unseenWordsLine({ 'test.examples': 4 })).toBeNull();
  });
});
