#!/usr/bin/env node
// npm run bench:cpu-kernels [-- --root . --batches 8 --models teacher-cnn,teacher-bilstm,student --modes stock,fast]
//
// Training speed (samples/s of forward + backward + Adam, as in lib/ml/train/train.ts) of the pipeline's
// models on the pure-JS `cpu` backend, with tfjs's stock kernels and with lib/ml/backend/cpu-kernels.
// Each model × mode runs in its own process so kernel registration and JIT state do not leak
// between runs. Reads <root>/params.yaml, <root>/artifacts/data/train.jsonl and
// <root>/artifacts/vocab.json (run the preprocess and build-vocab stages first) and needs
// `npm run build`. --embedding-dim / --filters / --units override the teacher's sizes, to find
// sizes that fit a time budget. Profile one run with:
//   node --cpu-prof bench/cpu-kernels.mjs --child teacher-cnn:fast
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { readSplit, readVocab } from '../dist/lib/ml/data/dataset.js';
import { distillationLoss } from '../dist/lib/ml/distill.js';
import { buildStudent, buildTeacherMember } from '../dist/lib/ml/models/models.js';
import { loadMlParams } from '../dist/lib/ml/params.js';
import { encode } from '../dist/lib/ml/text/text.js';
import { registerFastCpuKernels } from '../dist/lib/ml/backend/cpu-kernels/index.js';

const { values: args } = parseArgs({
  options: {
    root: { type: 'string', default: '.' },
    batches: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    models: { type: 'string', default: 'teacher-cnn,teacher-bilstm,student' },
    modes: { type: 'string', default: 'stock,fast' },
    'embedding-dim': { type: 'string' },
    filters: { type: 'string' },
    units: { type: 'string' },
    child: { type: 'string' },
  },
});

const MODELS = {
  'teacher-cnn': (p, shape) => ({ model: buildTeacherMember(tf, 'cnn', p.teacher, shape), batchSize: p.teacher.train.batch_size, distil: false }),
  'teacher-bilstm': (p, shape) => ({ model: buildTeacherMember(tf, 'bilstm', p.teacher, shape), batchSize: p.teacher.train.batch_size, distil: false }),
  student: (p, shape) => ({ model: buildStudent(tf, p.student.model, shape), batchSize: p.student.train.batch_size, distil: true }),
  'student-cnn': (p, shape) => ({ model: buildStudent(tf, { ...p.student.model, arch: 'cnn' }, shape), batchSize: p.student.train.batch_size, distil: true }),
};

function params() {
  const p = loadMlParams(args.root);
  if (args['embedding-dim']) p.teacher.embedding_dim = Number(args['embedding-dim']);
  if (args.filters) p.teacher.cnn.filters = Number(args.filters);
  if (args.units) p.teacher.bilstm.units = Number(args.units);
  return p;
}

/** One model × mode in this process: prints its samples/s (wall clock and per CPU-second) as JSON. */
async function child(name, mode) {
  await tf.setBackend('cpu');
  await tf.ready();
  if (mode === 'fast') registerFastCpuKernels(tf);
  const p = params();
  const vocab = readVocab(path.join(args.root, 'artifacts/vocab.json'));
  const examples = readSplit(path.join(args.root, 'artifacts/data/train.jsonl'));
  const numClasses = Math.max(...examples.map((e) => e.y)) + 1;
  const ids = tf.tensor2d(examples.map((e) => Array.from(encode(e.tokens, vocab, p.text.max_len))), undefined, 'int32');
  const labels = tf.tensor1d(examples.map((e) => e.y), 'int32');
  // The speed of a step does not depend on the teacher logits' values: seeded noise stands in.
  const teacherLogits = tf.randomNormal([examples.length, numClasses], 0, 1, 'float32', p.seed);
  const { model, batchSize, distil } = MODELS[name](p, { vocabSize: Object.keys(vocab).length, maxLen: p.text.max_len, numClasses, seed: p.seed });
  const optimizer = tf.train.adam(p.teacher.train.learning_rate);
  const warmup = Number(args.warmup);
  const batches = Number(args.batches);
  const step = (b) => {
    const start = (b * batchSize) % (examples.length - batchSize);
    const value = optimizer.minimize(() => {
      const x = ids.slice([start, 0], [batchSize, -1]);
      const y = labels.slice(start, batchSize);
      const logits = model.apply(x, { training: true });
      return distil
        ? distillationLoss(tf, logits, teacherLogits.slice([start, 0], [batchSize, -1]), y, p.student)
        : tf.losses.softmaxCrossEntropy(tf.oneHot(y, numClasses), logits);
    }, true);
    value.dataSync();
    value.dispose();
  };
  for (let b = 0; b < warmup; b++) step(b);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (let b = warmup; b < warmup + batches; b++) step(b);
  const { user, system } = process.cpuUsage(cpu0);
  const samples = batches * batchSize;
  process.stdout.write(
    `${JSON.stringify({ model: name, mode, samplesPerSec: samples / ((performance.now() - t0) / 1000), samplesPerCpuSec: samples / ((user + system) / 1e6), trainSize: examples.length, params: model.countParams() })}\n`,
  );
}

function parent() {
  const self = fileURLToPath(import.meta.url);
  const passOn = ['root', 'batches', 'warmup', 'embedding-dim', 'filters', 'units'].flatMap((k) => (args[k] === undefined ? [] : [`--${k}`, args[k]]));
  const rows = [];
  for (const name of args.models.split(',')) {
    if (!MODELS[name]) throw new Error(`unknown model ${name} (one of ${Object.keys(MODELS).join(', ')})`);
    const row = { model: name };
    for (const mode of args.modes.split(',')) {
      const out = JSON.parse(execFileSync(process.execPath, [self, '--child', `${name}:${mode}`, ...passOn], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
      row[mode] = out;
      row.params = out.params;
      row.trainSize = out.trainSize;
      process.stderr.write(`${name} ${mode}: ${out.samplesPerSec.toFixed(1)} samples/s, ${out.samplesPerCpuSec.toFixed(1)} samples/CPU-s\n`);
    }
    rows.push(row);
  }
  // Wall-clock figures depend on what else runs on the machine; per CPU-second ones much less.
  const fmt = (r, key) => (r ? r[key].toFixed(1) : '-');
  console.log('| model | params | stock samples/s (per CPU-s) | fast samples/s (per CPU-s) | speed-up (CPU) | fast CPU-s per epoch of the train split |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) {
    const speedup = r.stock && r.fast ? `${(r.fast.samplesPerCpuSec / r.stock.samplesPerCpuSec).toFixed(1)}×` : '-';
    const epoch = r.fast ? (r.trainSize / r.fast.samplesPerCpuSec).toFixed(1) : '-';
    console.log(`| ${r.model} | ${r.params} | ${fmt(r.stock, 'samplesPerSec')} (${fmt(r.stock, 'samplesPerCpuSec')}) | ${fmt(r.fast, 'samplesPerSec')} (${fmt(r.fast, 'samplesPerCpuSec')}) | ${speedup} | ${epoch} |`);
  }
}

if (args.child) {
  const [name, mode] = args.child.split(':');
  await child(name, mode);
} else parent();
