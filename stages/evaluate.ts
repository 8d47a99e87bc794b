import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomic } from '../lib/atomic-write.js';
import { KdError } from '../lib/errors.js';
import { writeDirAtomic } from '../lib/atomic-dir.js';
import { loadTf } from '../lib/ml/backend/backend.js';
import { EVALUATED_MODELS, evaluateClassifier, metricsJson, type EvaluatedModel, type ModelEvaluation } from '../lib/ml/evaluate/evaluation.js';
import { renderEvaluationReport } from '../lib/ml/evaluate/evaluation-report.js';
import { loadClassifier } from '../lib/ml/models/model-io.js';
import { loadMlParams } from '../lib/ml/params.js';
import { loadTestSet, requireInputs } from '../lib/ml/data/test-set.js';
import { reportStageTag } from '../lib/pipeline/stage-tags.js';

const INPUTS = ['artifacts/data/test.jsonl', 'artifacts/data/labels.json', 'artifacts/vocab.json', ...EVALUATED_MODELS.map((m) => `artifacts/${m}`)];

/**
 * Teacher, distilled student and baseline on the test split → artifacts/metrics.json and
 * artifacts/report/. Everything is computed before the first write, so a failure leaves no output.
 */
export async function run(root: string): Promise<void> {
  const params = loadMlParams(root);
  requireInputs(root, 'evaluate', INPUTS);
  const set = loadTestSet(root, params.text.max_len);
  const { info } = await loadTf();
  reportStageTag('kd.backend', info.backend);

  const evaluations = {} as Record<EvaluatedModel, ModelEvaluation>;
  for (const name of EVALUATED_MODELS) {
    const dir = path.join(root, 'artifacts', name);
    const classifier = await loadClassifier(dir, { root, vocab: set.vocab, maxLen: set.maxLen });
    try {
      evaluations[name] = await evaluateClassifier(name, classifier, set, {
        latencyRuns: params.evaluate.latency_runs,
        throughputBatch: params.evaluate.throughput_batch,
      });
    } catch (error) {
      // Typically a model trained with another text.max_len or label set than the test split's.
      throw new KdError(`artifacts/${name}: cannot predict the test split (${(error as Error).message})`);
    } finally {
      await classifier.dispose();
    }
  }

  const metrics = metricsJson(evaluations, set);
  const files = renderEvaluationReport(evaluations, metrics, {
    labels: set.labels,
    testExamples: set.rows,
    backend: info.backend,
    tfPackage: info.package,
    generatedAt: new Date().toISOString(),
  });
  await writeDirAtomic(path.join(root, 'artifacts/report'), (tmp) => {
    for (const [name, content] of files) writeFileSync(path.join(tmp, name), content);
  });
  writeJsonAtomic(path.join(root, 'artifacts/metrics.json'), metrics);
  process.stderr.write(
    `evaluate: ${set.rows} test sentences on ${info.backend}: accuracy teacher ${metrics['teacher.accuracy']!.toFixed(4)}, student ${metrics['student.accuracy']!.toFixed(4)}, baseline ${metrics['baseline.accuracy']!.toFixed(4)}; student ${metrics['student.latency_speedup']!.toFixed(1)}× faster\n`,
  );
}
