import path from 'node:path';
import { loadTf } from '../lib/ml/backend/backend.js';
import { scoreClassifier } from '../lib/ml/evaluate/evaluation.js';
import { TEACHER_EVALUATION_DIR, writeTeacherEvaluation } from '../lib/ml/evaluate/teacher-evaluation.js';
import { loadClassifier } from '../lib/ml/models/model-io.js';
import { loadMlParams } from '../lib/ml/params.js';
import { loadScoringSet, requireInputs } from '../lib/ml/data/test-set.js';

const INPUTS = ['artifacts/data/train.jsonl', 'artifacts/data/test.jsonl', 'artifacts/data/labels.json', 'artifacts/vocab.json', 'artifacts/teacher'];

/**
 * The teacher on the test split (accuracy, calibration, latency) → artifacts/teacher-eval/, once
 * per teacher: evaluate reads it for every student.
 */
export async function run(root: string): Promise<void> {
  const params = loadMlParams(root);
  requireInputs(root, 'evaluate-teacher', INPUTS);
  const set = loadScoringSet(root, params.text.max_len);
  const { info } = await loadTf();
  const options = { latencyRuns: params.evaluate.latency_runs, throughputBatch: params.evaluate.throughput_batch };
  const classifier = await loadClassifier(path.join(root, 'artifacts/teacher'), { root, vocab: set.vocab, maxLen: set.maxLen });
  const evaluation = await scoreClassifier('teacher', 'artifacts/teacher', classifier, set, options);
  await writeTeacherEvaluation(root, evaluation);
  process.stderr.write(`evaluate-teacher: ${set.rows} test sentences on ${info.backend}: accuracy ${evaluation.report.accuracy.toFixed(4)}, p50 ${evaluation.latency.p50_ms.toFixed(2)} ms per sentence → ${TEACHER_EVALUATION_DIR}\n`);
}
