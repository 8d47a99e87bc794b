import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomic } from '../lib/atomic-write.js';
import { writeDirAtomic } from '../lib/atomic-dir.js';
import { loadTf } from '../lib/ml/backend/backend.js';
import { EVALUATED_MODELS, metricsJson, scoreClassifier, variantName, type EvaluatedModel, type ModelEvaluation } from '../lib/ml/evaluate/evaluation.js';
import { readTeacherEvaluation, TEACHER_EVALUATION_DIR } from '../lib/ml/evaluate/teacher-evaluation.js';
import { renderEvaluationReport } from '../lib/ml/evaluate/evaluation-report.js';
import { readHistories } from '../lib/ml/evaluate/history.js';
import { classifierFromFiles, layersFiles, readFloatModel, type FloatModel } from '../lib/ml/models/layers-files.js';
import { onnxModels, onnxVariantName } from '../lib/ml/export/onnx/onnx-export.js';
import { onnxClassifier } from '../lib/ml/export/onnx/onnx-classifier.js';
import { UnsupportedLayerError, type OnnxPrecision } from '../lib/ml/export/onnx/student-onnx.js';
import { packageVersion } from '../lib/package-root.js';
import { loadClassifier, modelInputEncoder, type Classifier } from '../lib/ml/models/model-io.js';
import { loadMlParams } from '../lib/ml/params.js';
import { transferMetrics } from '../lib/ml/evaluate/transfer-set.js';
import { readTransferMeta, SOFT_LABELS_DIR } from '../lib/ml/train/soft-labels.js';
import { loadScoringSet, requireInputs } from '../lib/ml/data/test-set.js';
import { reportStageTag } from '../lib/pipeline/stage-tags.js';

/** The training stages' per-epoch histories (pipeline.yaml `plots`), drawn as curves in the report. */
const PLOTS_DIR = 'artifacts/plots';
const INPUTS = ['artifacts/data/train.jsonl', 'artifacts/data/test.jsonl', 'artifacts/data/labels.json', 'artifacts/vocab.json', TEACHER_EVALUATION_DIR, 'artifacts/student', 'artifacts/baseline'];

/**
 * Teacher (scored by evaluate-teacher), distilled student and baseline on the test split →
 * artifacts/metrics.json and artifacts/report/. Everything is computed before the first write, so
 * a failure leaves no output.
 */
/** The export's ONNX files of the student, or none (with the export stage's warning) when a layer has no ONNX translation. */
function studentOnnx(student: FloatModel, labels: string[], tokenizer: 'words' | 'pieces'): Partial<Record<OnnxPrecision, Uint8Array>> {
  try {
    return onnxModels(student, labels, { producerVersion: packageVersion(), tokenizer });
  } catch (error) {
    if (!(error instanceof UnsupportedLayerError)) throw error;
    process.stderr.write(`evaluate: warning: no ONNX variants in the report: ${error.message}\n`);
    return {};
  }
}

export async function run(root: string): Promise<void> {
  const params = loadMlParams(root);
  requireInputs(root, 'evaluate', INPUTS);
  const set = loadScoringSet(root, params.text.max_len);
  const { info } = await loadTf();
  reportStageTag('kd.backend', info.backend);

  const options = { latencyRuns: params.evaluate.latency_runs, throughputBatch: params.evaluate.throughput_batch };
  const score = (name: string, source: string, classifier: Classifier) => scoreClassifier(name, source, classifier, set, options);
  const context = { root, vocab: set.vocab, maxLen: set.maxLen };
  const evaluations = { teacher: readTeacherEvaluation(root, set.rows) } as Record<EvaluatedModel, ModelEvaluation>;
  for (const name of ['student', 'baseline'] as const) evaluations[name] = await score(name, `artifacts/${name}`, await loadClassifier(path.join(root, 'artifacts', name), context));
  // The export stage's quantised variants, built in memory by the same code, so the report can
  // show what quantisation trades before anything is exported.
  const studentDir = path.join(root, 'artifacts/student');
  const student = readFloatModel(studentDir);
  const encoder = modelInputEncoder(studentDir, context);
  const variants: ModelEvaluation[] = [];
  for (const dtype of new Set(params.export.quantize)) {
    variants.push(await score(variantName(dtype), `artifacts/student (${dtype})`, await classifierFromFiles(layersFiles(student, dtype), encoder)));
  }
  if (params.export.formats.includes('onnx')) {
    for (const [precision, bytes] of Object.entries(studentOnnx(student, set.labels, encoder.kind))) {
      const name = onnxVariantName(precision as OnnxPrecision);
      variants.push(await score(variantName(name), `artifacts/student (${name})`, await onnxClassifier(bytes, encoder, evaluations.student.params)));
    }
  }

  const transfer = existsSync(path.join(root, SOFT_LABELS_DIR)) ? readTransferMeta(path.join(root, SOFT_LABELS_DIR)) : null;
  const metrics = { ...metricsJson(evaluations, set, variants), ...(transfer ? transferMetrics(transfer) : {}) };
  const histories = readHistories(root, PLOTS_DIR, EVALUATED_MODELS, (message) => process.stderr.write(`evaluate: warning: ${message}\n`));
  const files = renderEvaluationReport({
    evaluations,
    variants,
    metrics,
    histories,
    transfer,
    context: { labels: set.labels, testExamples: set.rows, backend: info.backend, tfPackage: info.package, generatedAt: new Date().toISOString() },
  });
  await writeDirAtomic(path.join(root, 'artifacts/report'), (tmp) => {
    for (const [name, content] of files) writeFileSync(path.join(tmp, name), content);
  });
  writeJsonAtomic(path.join(root, 'artifacts/metrics.json'), metrics);
  const unseenCount = metrics['test.unseen_word_examples']!;
  const unseen = unseenCount > 0 ? `; on the ${unseenCount} with a word unseen in training: teacher ${metrics['teacher.accuracy_unseen_words']!.toFixed(4)}, student ${metrics['student.accuracy_unseen_words']!.toFixed(4)}` : '';
  process.stderr.write(
    `evaluate: ${set.rows} test sentences on ${info.backend}: accuracy teacher ${metrics['teacher.accuracy']!.toFixed(4)}, student ${metrics['student.accuracy']!.toFixed(4)}, baseline ${metrics['baseline.accuracy']!.toFixed(4)}; student ${metrics['student.latency_speedup']!.toFixed(1)}× faster${unseen}\n`,
  );
}
