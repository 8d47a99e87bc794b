#!/usr/bin/env node
// npm run bench:train [-- --seeds 3 --teacher-epochs 12 --student-epochs 20 --cpu-seeds 1 --cpu-rows 512 --backends keras,tfjs-node-gpu,tfjs-node,cpu]
//
// Training throughput (samples/s), inference throughput (examples/s) and test accuracy of the
// default teacher (multi-width CNN) and student (embedding + mean‖max pooling) on every tfjs
// backend that loads here, and of the same two models in Keras (Python TensorFlow from PyPI,
// installed by this script into the git-ignored .native/keras-venv), with the ratios to Keras.
//
// Everything comes from params.yaml and the real data: the preprocess and build-vocab stages run
// in a temporary copy of the project, and the token ids (max_len, vocabulary) are encoded once
// and handed to every backend and to Keras, so all see exactly the same rows. The tfjs side
// trains with lib/ml/train/train.ts's trainModel (the pipeline's loop: seeded shuffle, Adam, warm-up +
// cosine LR, per-epoch train + validation evaluation, best-weights restore); the Keras side
// (bench/keras_train.py) mirrors it: same architecture and initialisers, data, batch size,
// optimizer, schedule, epochs, per-epoch train + validation evaluation and best-weights restore.
// Early stopping is disabled on both sides (patience = epochs) so every run does the same work.
//
// training samples/s = epochs × training rows / wall time of the whole training call; samples per
// CPU-second divides by the process's CPU time (all threads) instead — steadier than wall time
// on a machine shared with other jobs;
// inference examples/s = test rows × repeats / wall time of predict(batch = evaluate.throughput_batch).
// Each tfjs backend runs in its own process (bench/hide-native.mjs hides the packages that would
// otherwise be preferred). The pure-JS `cpu` backend is far slower (with tfjs's stock kernels one
// teacher training step of 32 rows took minutes here), so by default it trains each model for one
// epoch on the first --cpu-rows training rows (and the same fraction of the validation rows, so
// the evaluation share of the work stays the same; inference is timed on that many test rows),
// with --cpu-seeds seed(s); its accuracy is then not comparable and is marked so. Pass --cpu-full
// to give it the same rows, epochs and seeds as the others.
// Needs `npm run build` (dist/). Run from anywhere.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    worker: { type: 'string' },
    config: { type: 'string' },
    seeds: { type: 'string', default: '3' },
    'teacher-epochs': { type: 'string' },
    'student-epochs': { type: 'string' },
    'cpu-seeds': { type: 'string', default: '1' },
    'cpu-rows': { type: 'string', default: '512' },
    'cpu-full': { type: 'boolean', default: false },
    'inference-seconds': { type: 'string', default: '2' },
    backends: { type: 'string', default: 'keras,tfjs-node-gpu,tfjs-node,cpu' },
    keep: { type: 'boolean', default: false },
  },
});

const NATIVE = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];
/** Backend name → the packages hidden from lib/ml/backend/backend.ts so it loads that one (or falls back). */
const TFJS_BACKENDS = {
  'tfjs-node-gpu': { hide: [], package: '@tensorflow/tfjs-node-gpu' },
  'tfjs-node': { hide: ['@tensorflow/tfjs-node-gpu'], package: '@tensorflow/tfjs-node' },
  cpu: { hide: NATIVE, package: '@tensorflow/tfjs' },
};

if (args.worker) await worker(JSON.parse(readFileSync(args.config, 'utf8')));
else await main();

// ---------------------------------------------------------------------------------------------
// Worker: one tfjs backend, every model × seed of the config; prints one JSON line.

async function worker(config) {
  const { loadTf } = await import('../dist/lib/ml/backend/backend.js');
  const { buildStudent, buildTeacherMember } = await import('../dist/lib/ml/models/models.js');
  const { trainModel } = await import('../dist/lib/ml/train/train.js');
  const { tf, info } = await loadTf();
  const want = TFJS_BACKENDS[args.worker].package;
  if (info.package !== want) {
    const why = info.attempts.find((a) => a.package === want)?.error ?? `loaded ${info.package} instead`;
    console.log(JSON.stringify({ skipped: why }));
    return;
  }
  const data = JSON.parse(readFileSync(config.data, 'utf8'));
  const split = (s, rows = s.y.length) => ({ ids: tf.tensor2d(s.ids.slice(0, rows), [rows, data.maxLen], 'int32'), labels: tf.tensor1d(s.y.slice(0, rows), 'int32') });
  const hardLoss = (logits, batch) => tf.losses.softmaxCrossEntropy(tf.oneHot(batch.labels, data.numClasses), logits);
  const results = [];
  for (const run of config.runs) {
    for (const seed of run.seeds) {
      const shape = { vocabSize: data.vocabSize, maxLen: data.maxLen, numClasses: data.numClasses, seed };
      const model = run.model === 'teacher' ? buildTeacherMember(tf, 'cnn', config.params.teacher, shape) : buildStudent(tf, config.params.student.model, shape);
      const p = { ...run.train, epochs: run.epochs, patience: run.epochs };
      const rows = run.rows ?? data.train.y.length;
      const train = split(data.train, rows);
      const val = split(data.val, Math.max(1, Math.round((rows * data.val.y.length) / data.train.y.length)));
      const test = split(data.test, Math.min(data.test.y.length, run.rows ?? data.test.y.length));
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const history = await trainModel(tf, model, train, val, p, hardLoss, seed);
      const trainSeconds = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const trainCpuSeconds = (cpu.user + cpu.system) / 1e6;
      // The accuracy pass doubles as the inference warm-up.
      const accuracy = tf.tidy(() => (model.predict(test.ids, { batchSize: config.inferenceBatch }).argMax(1).equal(test.labels).cast('float32').mean().dataSync()[0]));
      const inference = timeInference(() => tf.tidy(() => model.predict(test.ids, { batchSize: config.inferenceBatch }).dataSync()), config.inferenceSeconds);
      results.push({
        model: run.model,
        seed,
        epochs: history.length,
        trainSeconds,
        trainRows: rows,
        trainSamplesPerSec: (history.length * rows) / trainSeconds,
        trainSamplesPerCpuSec: (history.length * rows) / trainCpuSeconds,
        inferencePerSec: (inference.repeats * test.labels.shape[0]) / inference.seconds,
        testAccuracy: accuracy,
        finalLoss: history.at(-1).loss,
      });
      model.dispose();
      tf.dispose([train.ids, train.labels, val.ids, val.labels, test.ids, test.labels]);
      process.stderr.write(`  ${args.worker} ${run.model} seed ${seed}: ${trainSeconds.toFixed(1)} s, test acc ${accuracy.toFixed(4)}\n`);
    }
  }
  console.log(JSON.stringify({ backend: tf.getBackend(), package: info.package, results }));
}

/** Repeats `fn` (already warmed up) for at least `minSeconds` and at least once. */
function timeInference(fn, minSeconds) {
  let repeats = 0;
  const t0 = performance.now();
  while (repeats < 1 || performance.now() - t0 < minSeconds * 1000) {
    fn();
    repeats++;
  }
  return { repeats, seconds: (performance.now() - t0) / 1000 };
}

// ---------------------------------------------------------------------------------------------
// Orchestrator.

async function main() {
  if (!existsSync(path.join(root, 'dist/lib/ml/train/train.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  const { loadMlParams } = await import('../dist/lib/ml/params.js');
  const { readLabels, readSplit, readVocab } = await import('../dist/lib/ml/data/dataset.js');
  const { encode } = await import('../dist/lib/ml/text/text.js');
  const params = loadMlParams(root);
  const work = mkdtempSync(path.join(tmpdir(), 'kd-bench-train-'));
  try {
    // The real data, through the pipeline's own preprocess and build-vocab stages.
    for (const f of ['params.yaml', 'pipeline.yaml', 'data']) cpSync(path.join(root, f), path.join(work, f), { recursive: true });
    for (const stage of ['preprocess', 'build-vocab']) {
      const r = spawnSync(process.execPath, [path.join(root, 'bin/kd-pipeline.js'), 'stage', stage], { cwd: work, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`stage ${stage} failed:\n${r.stderr}`);
    }
    const vocab = readVocab(path.join(work, 'artifacts/vocab.json'));
    const labels = readLabels(path.join(work, 'artifacts/data/labels.json'));
    const maxLen = params.text.max_len;
    const encodeSplit = (name) => {
      const rows = readSplit(path.join(work, `artifacts/data/${name}.jsonl`));
      return { ids: rows.map((r) => Array.from(encode(r.tokens, vocab, maxLen))), y: rows.map((r) => r.y) };
    };
    const data = { maxLen, vocabSize: Math.max(...Object.values(vocab)) + 1, numClasses: labels.length, train: encodeSplit('train'), val: encodeSplit('val'), test: encodeSplit('test') };
    const dataFile = path.join(work, 'encoded.json');
    writeFileSync(dataFile, JSON.stringify(data));

    const seeds = (n) => Array.from({ length: n }, (_, i) => params.seed + i);
    const teacherEpochs = Number(args['teacher-epochs'] ?? params.teacher.train.epochs);
    const studentEpochs = Number(args['student-epochs'] ?? params.student.train.epochs);
    const fullRuns = [
      { model: 'teacher', train: params.teacher.train, epochs: teacherEpochs, seeds: seeds(Number(args.seeds)) },
      { model: 'student', train: params.student.train, epochs: studentEpochs, seeds: seeds(Number(args.seeds)) },
    ];
    const cpuRuns = args['cpu-full']
      ? fullRuns
      : fullRuns.map((run) => ({ ...run, epochs: 1, rows: Number(args['cpu-rows']), seeds: seeds(Number(args['cpu-seeds'])), reduced: true }));
    const base = { data: dataFile, params: { teacher: params.teacher, student: params.student }, inferenceBatch: params.evaluate.throughput_batch, inferenceSeconds: Number(args['inference-seconds']) };
    console.log(
      `data: ${data.train.y.length} train / ${data.val.y.length} val / ${data.test.y.length} test rows, vocab ${data.vocabSize}, max_len ${maxLen}, ${data.numClasses} classes; ` +
        `teacher ${teacherEpochs} epochs, student ${studentEpochs} epochs, batch ${params.teacher.train.batch_size}/${params.student.train.batch_size}, seeds ${fullRuns[0].seeds.join(',')}`,
    );

    const backends = args.backends.split(',').filter(Boolean);
    const table = {}; // backend → model → results[]
    const notes = [];
    for (const backend of backends) {
      const runs = backend === 'cpu' ? cpuRuns : fullRuns;
      const configFile = path.join(work, `${backend}.json`);
      writeFileSync(configFile, JSON.stringify({ ...base, runs }));
      console.log(`running ${backend} …`);
      let out;
      if (backend === 'keras') out = runKeras(configFile);
      else if (TFJS_BACKENDS[backend]) {
        const env = { TF_CPP_MIN_LOG_LEVEL: '2', ...process.env, KD_BENCH_HIDE: TFJS_BACKENDS[backend].hide.join(',') };
        const r = spawnSync(process.execPath, ['--import', path.join(root, 'bench/hide-native.mjs'), fileURLToPath(import.meta.url), '--worker', backend, '--config', configFile], {
          env,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'inherit'],
          maxBuffer: 1 << 26,
        });
        if (r.status !== 0) out = { skipped: `worker exited with ${r.status}` };
        else out = JSON.parse(r.stdout.trim().split('\n').at(-1));
      } else throw new Error(`unknown backend ${backend} (known: ${[...Object.keys(TFJS_BACKENDS), 'keras'].join(', ')})`);
      if (out.skipped) {
        notes.push(`${backend}: not loaded — ${out.skipped}`);
        continue;
      }
      table[backend] = { label: backend === 'keras' ? `keras ${out.version}` : `${backend} (${out.backend})`, runs, results: out.results, fullRows: data.train.y.length };
    }
    report(table, notes);
  } finally {
    if (!args.keep) rmSync(work, { recursive: true, force: true });
    else console.log(`kept ${work}`);
  }
}

function runKeras(configFile) {
  const venv = path.join(root, '.native/keras-venv');
  const python = path.join(venv, 'bin/python');
  const version = '2.15.1'; // the TensorFlow that scripts/native.mjs builds tfjs-node against
  const probe = spawnSync(python, ['-c', 'import tensorflow as tf; print(tf.__version__)'], { encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' } });
  if (probe.status !== 0 || probe.stdout.trim() !== version) {
    console.log(`installing tensorflow-cpu==${version} into ${path.relative(root, venv)} (once) …`);
    mkdirSync(path.dirname(venv), { recursive: true });
    const py = process.env.PYTHON ?? 'python3';
    try {
      if (!existsSync(python)) execFileSync(py, ['-m', 'venv', venv], { stdio: 'inherit' });
      const wheels = path.join(root, '.native/wheels');
      execFileSync(python, ['-m', 'pip', 'install', '-q', ...(existsSync(wheels) ? ['--find-links', wheels] : []), `tensorflow-cpu==${version}`], { stdio: 'inherit' });
    } catch (error) {
      return { skipped: `could not install tensorflow-cpu==${version}: ${error.message.split('\n')[0]}` };
    }
  }
  const r = spawnSync(python, [path.join(root, 'bench/keras_train.py'), configFile], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2', PYTHONHASHSEED: '0' },
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0) return { skipped: `keras_train.py exited with ${r.status}` };
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
}

function stats(values) {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = values.length > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1)) : 0;
  return { mean, sd, n: values.length };
}

function report(table, notes) {
  const keras = table.keras;
  const rows = [];
  for (const model of ['teacher', 'student']) {
    const kerasOf = keras && summarize(keras.results.filter((r) => r.model === model));
    for (const [backend, entry] of Object.entries(table)) {
      const results = entry.results.filter((r) => r.model === model);
      if (results.length === 0) continue;
      const s = summarize(results);
      const reduced = entry.runs.find((r) => r.model === model)?.reduced;
      rows.push([
        model,
        entry.label,
        `${s.epochs}${results[0].trainRows && results[0].trainRows !== entry.fullRows ? ` × ${results[0].trainRows} rows` : ''}`,
        s.train.mean.toFixed(0),
        s.trainCpu.mean.toFixed(0),
        s.infer.mean.toFixed(0),
        `${s.acc.mean.toFixed(4)} ± ${s.acc.sd.toFixed(4)} (n=${s.acc.n})${reduced ? ' *' : ''}`,
        kerasOf && backend !== 'keras' ? `${(s.train.mean / kerasOf.train.mean).toFixed(2)}×` : '',
        kerasOf && backend !== 'keras' ? `${(s.trainCpu.mean / kerasOf.trainCpu.mean).toFixed(2)}×` : '',
        kerasOf && backend !== 'keras' ? `${(s.infer.mean / kerasOf.infer.mean).toFixed(2)}×` : '',
      ]);
    }
  }
  const head = ['model', 'backend', 'epochs', 'train samples/s', 'train samples/CPU-s', 'infer examples/s', 'test accuracy (mean ± sd)', 'train vs keras', 'train/CPU-s vs keras', 'infer vs keras'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log('');
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  if (rows.some((r) => r[6].endsWith('*'))) console.log('* fewer rows/epochs/seeds than the others (throughput only; accuracy not comparable) — pass --cpu-full for the full comparison');
  for (const n of notes) console.log(n);
  for (const model of ['teacher', 'student']) {
    if (!keras) break;
    const k = summarize(keras.results.filter((r) => r.model === model)).acc;
    for (const [backend, entry] of Object.entries(table)) {
      if (backend === 'keras' || entry.runs.find((r) => r.model === model)?.reduced) continue;
      const s = summarize(entry.results.filter((r) => r.model === model)).acc;
      if (s.n < 2 || k.n < 2) continue;
      const se = Math.sqrt(s.sd ** 2 / s.n + k.sd ** 2 / k.n);
      const diff = s.mean - k.mean;
      console.log(`${model} accuracy, ${backend} − keras: ${diff >= 0 ? '+' : ''}${diff.toFixed(4)} (${se > 0 ? `${(Math.abs(diff) / se).toFixed(1)} standard errors` : 'sd 0'}) ${Math.abs(diff) <= 2 * se + 0.005 ? 'within noise' : 'OUTSIDE noise'}`);
    }
  }
}

function summarize(results) {
  return {
    epochs: results[0].epochs,
    train: stats(results.map((r) => r.trainSamplesPerSec)),
    trainCpu: stats(results.map((r) => r.trainSamplesPerCpuSec)),
    infer: stats(results.map((r) => r.inferencePerSec)),
    acc: stats(results.map((r) => r.testAccuracy)),
  };
}
