import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as tfTypes from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTf } from '../../lib/ml/backend/backend.js';
import { sha256Parts } from '../../lib/ml/export/content-hash.js';
import { agreement, argmax, calibrationError, classificationReport, reliabilityBins, softmax } from '../../lib/ml/evaluate/metrics.js';
import { loadClassifier, loadLayersModel } from '../../lib/ml/models/model-io.js';
import { loadTestSet, type TestSet } from '../../lib/ml/data/test-set.js';
import { tokenize } from '../../lib/ml/text/text.js';
import { encodeIds } from '../../lib/ml/data/train-data.js';
import { parseStageTags } from '../../lib/pipeline/stage-tags.js';
import { readExport } from '../../lib/serve/export-bundle.js';
import { LABELS, MAX_LEN, trainedProject } from './trained-project.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(REPO, 'bin/kd-pipeline.js');
const { tf, info } = await loadTf();

function cli(root: string, args: string[], env: Record<string, string> = {}) {
  return spawnSync('node', [CLI, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } });
}

/** Rows of logits → probabilities, for a layers model over the whole test set (its tokens encoded with its vocab). */
async function probabilities(predict: (ids: tfTypes.Tensor2D) => tfTypes.Tensor, set: TestSet): Promise<number[][]> {
  const logits = predict(encodeIds(tf, set.inputs.map((input) => input.tokens), set.vocab, set.maxLen));
  return ((await logits.array()) as number[][]).map((row) => softmax(row));
}

/** tf.loadLayersModel through its HTTP loader, reading file:// URLs from disk: weight paths resolve as in a browser. */
function loadLikeBrowser(modelJson: string): Promise<tfTypes.LayersModel> {
  const fetchFunc = async (url: string) => new Response(readFileSync(fileURLToPath(url)));
  return tf.loadLayersModel(tf.io.http(pathToFileURL(modelJson).href, { fetchFunc }));
}

const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

let root: string;
let set: TestSet;
let metrics: Record<string, number>;
let tags: Record<string, string>;

beforeAll(async () => {
  root = await trainedProject();
  set = loadTestSet(root, MAX_LEN);
  const teacher = cli(root, ['stage', 'evaluate-teacher']);
  expect(teacher.status, teacher.stderr).toBe(0);
  const evaluate = cli(root, ['stage', 'evaluate']);
  expect(evaluate.status, evaluate.stderr).toBe(0);
  metrics = readJson(path.join(root, 'artifacts/metrics.json'));
  const tagFile = path.join(root, 'export-tags.txt');
  const exported = cli(root, ['stage', 'export'], { KD_STAGE_TAGS: tagFile });
  expect(exported.status, exported.stderr).toBe(0);
  tags = parseStageTags(readFileSync(tagFile, 'utf8'));
});

describe('evaluate stage', () => {
  it('writes flat metrics for teacher, student and baseline, each in its range', () => {
    for (const model of ['teacher', 'student', 'baseline']) {
      for (const key of ['accuracy', 'precision_macro', 'recall_macro', 'f1_macro', 'ece', ...LABELS.map((l) => `f1.${l}`)]) {
        expect(metrics[`${model}.${key}`], `${model}.${key}`).toBeGreaterThanOrEqual(0);
        expect(metrics[`${model}.${key}`], `${model}.${key}`).toBeLessThanOrEqual(1);
      }
      expect(Number.isInteger(metrics[`${model}.params`])).toBe(true);
      expect(metrics[`${model}.size_bytes`]).toBeGreaterThan(metrics[`${model}.params`]! * 4);
      expect(metrics[`${model}.latency_p50_ms`]).toBeGreaterThan(0);
      expect(metrics[`${model}.latency_p95_ms`]).toBeGreaterThanOrEqual(metrics[`${model}.latency_p50_ms`]!);
      expect(metrics[`${model}.throughput_per_s`]).toBeGreaterThan(0);
    }
    expect(metrics['test.examples']).toBe(set.rows);
    // Every test word of the trained project occurs in its training split: a count of 0 and no per-model key (no NaN).
    expect(metrics['test.unseen_word_examples']).toBe(0);
    expect(Object.keys(metrics).filter((key) => key.endsWith('.accuracy_unseen_words'))).toEqual([]);
    expect(metrics['teacher_student.agreement']).toBeGreaterThanOrEqual(0);
    expect(metrics['teacher_student.agreement']).toBeLessThanOrEqual(1);
    expect(metrics['student.param_ratio']).toBeCloseTo(metrics['student.params']! / metrics['teacher.params']!, 12);
    expect(metrics['student.param_ratio']).toBeLessThan(1);
    expect(metrics['student.latency_speedup']).toBeCloseTo(metrics['teacher.latency_p50_ms']! / metrics['student.latency_p50_ms']!, 12);
    expect(metrics['student.distillation_gain']).toBeCloseTo(metrics['student.accuracy']! - metrics['baseline.accuracy']!, 12);
  });

  it('matches lib/ml/evaluate/metrics on the predictions of the same models', async () => {
    const predictions: Record<string, number[]> = {};
    for (const model of ['teacher', 'student', 'baseline']) {
      const classifier = await loadClassifier(path.join(root, 'artifacts', model), { root, vocab: set.vocab, maxLen: set.maxLen });
      const probs = (await classifier.predictLogits(set.inputs)).map((row) => softmax(row));
      await classifier.dispose();
      predictions[model] = probs.map((row) => argmax(row));
      const report = classificationReport(set.y, predictions[model]!, LABELS.length);
      expect(metrics[`${model}.accuracy`]).toBeCloseTo(report.accuracy, 10);
      expect(metrics[`${model}.f1_macro`]).toBeCloseTo(report.f1_macro, 10);
      expect(metrics[`${model}.precision.${LABELS[1]}`]).toBeCloseTo(report.perClass[1]!.precision, 10);
      expect(metrics[`${model}.ece`]).toBeCloseTo(calibrationError(reliabilityBins(probs, set.y)), 6);
      expect(metrics[`${model}.params`]).toBe(classifier.paramCount);
    }
    expect(metrics['teacher_student.agreement']).toBeCloseTo(agreement(predictions.teacher!, predictions.student!), 10);
    const confusion = readJson(path.join(root, 'artifacts/report/confusion.json'));
    expect(confusion.student).toEqual(classificationReport(set.y, predictions.student!, LABELS.length).confusion);
  });

  it('writes a report with the side-by-side table, a chart per model and the numbers behind them', () => {
    const report = path.join(root, 'artifacts/report');
    const markdown = readFileSync(path.join(report, 'report.md'), 'utf8');
    expect(markdown).toContain('| metric | teacher | student | baseline |');
    expect(markdown).toContain(`| Accuracy | ${(metrics['teacher.accuracy']! * 100).toFixed(1)}\u00a0% | ${(metrics['student.accuracy']! * 100).toFixed(1)}\u00a0% |`);
    expect(markdown).toContain('| student export | float32 | float16 | uint8 |');
    expect(markdown).toContain('![student: confusion matrix](confusion-student.svg)');
    expect(markdown).toContain('No training histories were found in artifacts/plots.');
    const html = readFileSync(path.join(report, 'index.html'), 'utf8');
    expect(html).toContain('<th scope="col">metric</th><th scope="col">teacher</th><th scope="col">student</th><th scope="col">baseline</th>');
    expect(html).toMatch(/backend/);
    const charts = ['tradeoff-params', 'tradeoff-size', 'tradeoff-latency', ...['teacher', 'student', 'baseline'].flatMap((m) => [`reliability-${m}`, `confusion-${m}`])];
    for (const chart of charts) {
      const svg = readFileSync(path.join(report, `${chart}.svg`), 'utf8');
      expect(svg).toMatch(new RegExp(`^<svg [^>]*data-chart="${chart}"[^]*</svg>\n$`));
      expect(html).toContain(svg.trim());
    }
    const calibration = readJson(path.join(report, 'calibration.json'));
    for (const model of ['teacher', 'student', 'baseline']) {
      expect(calibration[model].ece).toBeCloseTo(metrics[`${model}.ece`]!, 12);
      expect(calibration[model].bins.reduce((sum: number, bin: { count: number }) => sum + bin.count, 0)).toBe(set.rows);
    }
  });

  it('names a missing model directory and writes nothing', async () => {
    const bare = await trainedProject();
    rmSync(path.join(bare, 'artifacts/student'), { recursive: true });
    const result = cli(bare, ['stage', 'evaluate']);
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe('kd-pipeline: error: evaluate: missing inputs artifacts/teacher-eval, artifacts/student (run the stages that produce them first)');
    expect(existsSync(path.join(bare, 'artifacts/report'))).toBe(false);
    expect(existsSync(path.join(bare, 'artifacts/metrics.json'))).toBe(false);
    // Nor does export run without the evaluation it quotes.
    const exported = cli(bare, ['stage', 'export']);
    expect(exported.stderr).toMatch(/export: missing inputs artifacts\/student, artifacts\/metrics\.json/);
    expect(existsSync(path.join(bare, 'artifacts/export'))).toBe(false);
  });
  it('refuses a teacher evaluation of another test split, naming its file, and writes nothing', async () => {
    const other = await trainedProject();
    expect(cli(other, ['stage', 'evaluate-teacher']).status).toBe(0);
    const file = path.join(other, 'artifacts/teacher-eval/evaluation.json');
    const evaluation = readJson(file);
    evaluation.predictions.pop();
    writeFileSync(file, JSON.stringify(evaluation));
    const result = cli(other, ['stage', 'evaluate']);
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(`kd-pipeline: error: artifacts/teacher-eval/evaluation.json: scores ${set.rows - 1} test sentences, the test split has ${set.rows}; run evaluate-teacher again`);
    expect(existsSync(path.join(other, 'artifacts/metrics.json'))).toBe(false);
  });

  it('refuses a teacher trained with another text.max_len, naming it, and writes nothing; the student reads any length', async () => {
    const other = await trainedProject();
    const params = path.join(other, 'params.yaml');
    writeFileSync(params, readFileSync(params, 'utf8').replace(`max_len: ${MAX_LEN}`, `max_len: ${MAX_LEN + 1}`));
    const evaluate = cli(other, ['stage', 'evaluate-teacher']);
    expect(evaluate.status).toBe(1);
    expect(evaluate.stderr).toMatch(/(^|\n)kd-pipeline: error: artifacts\/teacher: cannot predict the test split \(.*\[null,6\].*\)\n$/);
    expect(existsSync(path.join(other, 'artifacts/teacher-eval'))).toBe(false);
    // The student reads ids of any length, so its export follows the new text.max_len.
    copyFileSync(path.join(root, 'artifacts/metrics.json'), path.join(other, 'artifacts/metrics.json'));
    const exported = cli(other, ['stage', 'export']);
    expect(exported.status, exported.stderr).toBe(0);
    expect(readJson(path.join(other, 'artifacts/export/preprocessing.json')).max_len).toBe(MAX_LEN + 1);
  });
});

describe('export stage', () => {
  it('writes the export the server reads, with a content fingerprint and metrics from metrics.json', async () => {
    const dir = path.join(root, 'artifacts/export');
    const bundle = await readExport(dir);
    expect(bundle.labels).toEqual(LABELS);
    expect(bundle.preprocessing).toEqual({ tokenizer: 'words', lowercase: true, strip_accents: false, max_len: MAX_LEN });
    expect(bundle.vocab).toEqual(set.vocab);
    const files = ['weights.bin', 'vocab.json', 'preprocessing.json'].map((name) => readFileSync(path.join(dir, name)));
    expect(bundle.metadata.fingerprint).toBe(sha256Parts(files));
    expect(bundle.metadata).toMatchObject({ name: 'kd-student', backend: info.backend, metrics: { 'student.accuracy': metrics['student.accuracy'] } });
    expect(Object.keys(bundle.metadata.lineage as object)).toEqual(['artifacts/data', 'artifacts/vocab.json', 'artifacts/student', 'artifacts/metrics.json']);
    expect(bundle.modelCard).toContain(`${(metrics['student.accuracy']! * 100).toFixed(1)} %`);
    expect(bundle.modelCard).toContain(bundle.metadata.fingerprint);
    expect(tags).toEqual({ 'kd.backend': info.backend, 'kd.register_model': 'artifacts/export' });
  });

  it('loads with tf.loadLayersModel and predicts exactly what the student predicts', async () => {
    const student = await loadLayersModel(path.join(root, 'artifacts/student'));
    const exported = await loadLikeBrowser(path.join(root, 'artifacts/export/model.json'));
    const expected = await probabilities((ids) => student.predict(ids) as tfTypes.Tensor, set);
    expect(await probabilities((ids) => exported.predict(ids) as tfTypes.Tensor, set)).toEqual(expected);
  });

  it('writes float16 and uint8 variants that load, with size, accuracy and agreement recorded', async () => {
    const dir = path.join(root, 'artifacts/export');
    const variants = readJson(path.join(dir, 'metadata.json')).variants;
    const float32 = await loadLikeBrowser(path.join(dir, 'model.json'));
    const floatPredictions = (await probabilities((ids) => float32.predict(ids) as tfTypes.Tensor, set)).map((row) => argmax(row));
    for (const name of ['float16', 'uint8']) {
      const model = await loadLikeBrowser(path.join(dir, name, 'model.json'));
      const predictions = (await probabilities((ids) => model.predict(ids) as tfTypes.Tensor, set)).map((row) => argmax(row));
      const bytes = ['model.json', 'weights.bin'].reduce((sum, file) => sum + statSync(path.join(dir, name, file)).size, 0);
      expect(variants[name]).toEqual({
        size_bytes: bytes,
        accuracy: classificationReport(set.y, predictions, LABELS.length).accuracy,
        f1_macro: classificationReport(set.y, predictions, LABELS.length).f1_macro,
        agreement_float32: agreement(floatPredictions, predictions),
        latency_p50_ms: expect.any(Number),
      });
      expect(variants[name].latency_p50_ms).toBeGreaterThan(0);
      expect(bytes).toBeLessThan(variants.float32.size_bytes);
    }
    expect(variants.float32.accuracy).toBeCloseTo(metrics['student.accuracy']!, 12);
    // evaluate scored the same variants in memory, before export wrote them: the same predictions.
    for (const name of ['float16', 'uint8']) {
      expect(metrics[`student_${name}.accuracy`]).toBe(variants[name].accuracy);
      expect(metrics[`student_${name}.f1_macro`]).toBe(variants[name].f1_macro);
      expect(metrics[`student_${name}.size_bytes`]).toBe(variants[name].size_bytes);
      expect(metrics[`student_${name}.params`]).toBe(metrics['student.params']);
    }
  });

  it('serves `kd-pipeline predict --json` with the student\'s answer', async () => {
    const text = 'The show was GREAT';
    const result = cli(root, ['predict', text, '--json']);
    expect(result.status, result.stderr).toBe(0);
    const answer = JSON.parse(result.stdout);
    const student = await loadLayersModel(path.join(root, 'artifacts/student'));
    const tokens = tokenize(text, { lowercase: true, strip_accents: false });
    const [probs] = await probabilities((input) => student.predict(input) as tfTypes.Tensor, { ...set, inputs: [{ text, tokens }], rows: 1 });
    expect(answer.label).toBe(LABELS[argmax(probs!)]);
    Object.values(answer.probabilities as Record<string, number>).forEach((p, i) => expect(p).toBeCloseTo(probs![i]!, 5));
    expect(answer.model.fingerprint).toBe(readJson(path.join(root, 'artifacts/export/metadata.json')).fingerprint);
  });
});

describe('export stage: ONNX (export.formats: [tfjs, onnx], the default)', () => {
  const exportDir = () => path.join(root, 'artifacts/export');

  it('writes model.onnx, model.int8.onnx and a word-level tokenizer.json, scored like the tfjs variants, with what the tokenizer cannot say', () => {
    const metadata = readJson(path.join(exportDir(), 'metadata.json'));
    expect(metadata.formats).toEqual(['tfjs', 'onnx']);
    expect(metadata.onnx).toMatchObject({ folder: 'onnx/', opset: 13, files: { float32: 'model.onnx', int8: 'model.int8.onnx', tokenizer: 'tokenizer.json' } });
    expect(metadata.onnx.tokenizer_limits).toMatch(/Chinese.*Intl\.Segmenter/);
    for (const [name, file] of [['onnx_float32', 'model.onnx'], ['onnx_int8', 'model.int8.onnx']] as const) {
      expect(metadata.variants[name].size_bytes).toBe(statSync(path.join(exportDir(), 'onnx', file)).size);
      expect(metadata.variants[name].latency_p50_ms).toBeGreaterThan(0);
      // evaluate scored the same files in memory, on the same runtime.
      expect(metrics[`student_${name}.accuracy`]).toBe(metadata.variants[name].accuracy);
    }
    expect(metadata.variants.onnx_float32.agreement_float32).toBe(1);
    expect(readJson(path.join(exportDir(), 'onnx/tokenizer.json')).model.type).toBe('WordLevel');
    const card = readFileSync(path.join(exportDir(), 'model-card.md'), 'utf8');
    expect(card).toMatch(/\| onnx_int8 \| `onnx\/model\.int8\.onnx` \| [\d,]+ \| [\d.]+ % \| [\d.]+ % \| [\d.]+ ms \|/);
    expect(readFileSync(path.join(root, 'artifacts/report/report.md'), 'utf8')).toContain('| ONNX export | float32 | int8 |');
  });

  it("runs the README's Python example as written (onnxruntime + tokenizers) with kd-pipeline's answer", () => {
    const readme = readFileSync(path.join(exportDir(), 'README.md'), 'utf8');
    const example = /```python\n([\s\S]*?)```/.exec(readme)![1]!;
    const python = spawnSync(path.join(REPO, '.venv/bin/python'), ['-c', example], { cwd: exportDir(), encoding: 'utf8' });
    expect(python.status, python.stderr).toBe(0);
    const ours = JSON.parse(cli(root, ['predict', 'this film was great', '--json']).stdout);
    expect(python.stdout).toMatch(new RegExp(`^\\('${ours.label}', \\{`));
    for (const [label, p] of Object.entries(ours.probabilities as Record<string, number>)) expect(python.stdout).toContain(`'${label}': ${Number((p as number).toFixed(4))}`);
  });

  it('predicts with --runtime onnx (float32 and int8) what the tfjs export predicts', () => {
    const text = 'The show was GREAT';
    const tfjs = JSON.parse(cli(root, ['predict', text, '--json']).stdout);
    for (const extra of [[], ['--variant', 'int8']]) {
      const result = cli(root, ['predict', text, '--json', '--runtime', 'onnx', ...extra]);
      expect(result.status, result.stderr).toBe(0);
      const onnx = JSON.parse(result.stdout);
      expect(onnx.label).toBe(tfjs.label);
      if (extra.length === 0) Object.entries(tfjs.probabilities as Record<string, number>).forEach(([label, p]) => expect(onnx.probabilities[label]).toBeCloseTo(p, 5));
    }
    expect(cli(root, ['predict', text, '--runtime', 'onnx', '--variant', 'uint8']).stderr).toMatch(/--variant must be one of int8 with --runtime onnx \(float16, uint8 with --runtime tfjs/);
  });

  it('serves with --runtime onnx and says so in /metadata', async () => {
    const { serve, postJson } = await import('../serve/server-harness.js');
    const server = await serve(exportDir(), { runtime: 'onnx', variant: 'int8' });
    try {
      const answer = await (await postJson(server.url, { text: 'The show was GREAT' })).json();
      expect(LABELS).toContain(answer.label);
      expect(await (await fetch(`${server.url}/metadata`)).json()).toMatchObject({ runtime: 'onnx', variant: 'int8' });
    } finally {
      await server.close();
    }
  });

  it('refuses --runtime onnx on an export without ONNX in one message, writing no output file', () => {
    const copy = `${root}-no-onnx`;
    cpSync(exportDir(), copy, { recursive: true });
    rmSync(path.join(copy, 'onnx'), { recursive: true });
    writeFileSync(path.join(root, 'texts.txt'), 'good\nbad\n');
    const result = cli(root, ['predict', '--model', copy, '--runtime', 'onnx', '--file', 'texts.txt', '--out', 'out.csv']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/this export has no ONNX model \(onnx\/model\.onnx is missing\): export it with `export\.formats: \[tfjs, onnx\]`/);
    expect(existsSync(path.join(root, 'out.csv'))).toBe(false);
  });

  it('refuses an unknown export format naming the key, and writes nothing', () => {
    const project = `${root}-formats`;
    cpSync(root, project, { recursive: true });
    const params = path.join(project, 'params.yaml');
    writeFileSync(params, readFileSync(params, 'utf8').replace(/formats: \[tfjs, onnx\]/, 'formats: [tfjs, tflite]'));
    const before = readFileSync(path.join(project, 'artifacts/export/metadata.json'), 'utf8');
    const result = cli(project, ['stage', 'export']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/params\.yaml: export\.formats\[1\]: .*"tfjs".*"onnx"/);
    expect(readFileSync(path.join(project, 'artifacts/export/metadata.json'), 'utf8')).toBe(before);
  });

  it('writes only onnx/ with export.formats: [onnx], scored against the tfjs model in memory; --runtime tfjs then points to onnx', () => {
    const project = `${root}-onnx-only`;
    cpSync(root, project, { recursive: true });
    const params = path.join(project, 'params.yaml');
    writeFileSync(params, readFileSync(params, 'utf8').replace(/formats: \[tfjs, onnx\]/, 'formats: [onnx]'));
    const result = cli(project, ['stage', 'export']);
    expect(result.status, result.stderr).toBe(0);
    const dir = path.join(project, 'artifacts/export');
    expect(existsSync(path.join(dir, 'model.json'))).toBe(false);
    expect(Object.keys(readJson(path.join(dir, 'metadata.json')).variants)).toEqual(['onnx_float32', 'onnx_int8']);
    expect(cli(project, ['predict', 'good', '--runtime', 'onnx']).status).toBe(0);
    expect(cli(project, ['predict', 'good']).stderr).toMatch(/this export has no tfjs model \(model\.json is missing; export\.formats was \[onnx\]\): use --runtime onnx/);
  });

  it('names a student layer the ONNX writer does not know and still writes the tfjs export', async () => {
    const project = `${root}-layer`;
    cpSync(root, project, { recursive: true });
    const { saveLayersModel } = await import('../../lib/ml/models/model-io.js');
    const vocabSize = Object.keys(set.vocab).length;
    const model = tf.sequential({ layers: [tf.layers.embedding({ inputDim: vocabSize, outputDim: 4, inputShape: [null] as unknown as number[] }), tf.layers.globalAveragePooling1d(), tf.layers.dense({ units: LABELS.length })] });
    await saveLayersModel(model, path.join(project, 'artifacts/student'));
    const result = cli(project, ['stage', 'export']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/the ONNX writer does not know layer \S+ \(GlobalAveragePooling1D\); it translates InputLayer, Embedding, ZeroPads, Conv1D, MaskedMeanMaxPooling, Concatenate, Dense\. export\.formats: \[tfjs\]/);
    const metadata = readJson(path.join(project, 'artifacts/export/metadata.json'));
    expect(metadata.formats).toEqual(['tfjs']);
    expect(metadata.onnx.skipped).toMatch(/GlobalAveragePooling1D/);
    expect(existsSync(path.join(project, 'artifacts/export/model.json'))).toBe(true);
    expect(existsSync(path.join(project, 'artifacts/export/onnx'))).toBe(false);
  });
});
