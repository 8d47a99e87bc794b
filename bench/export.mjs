#!/usr/bin/env node
// npm run bench:export [-- --export DIR] [-- --runs 300] [-- --batch 256] [-- --no-write]
//
// The exported student on each runtime, side by side in one run: single-sentence p50 latency and
// batched throughput under tfjs with the native backend (when `npm run native` built it), tfjs
// pure JS (`cpu` with our kernels) and onnxruntime-node (float32, int8 as exported — weights
// dequantised in the graph — and int8 with ONNX Runtime's quantised operators, made by Python's
// onnxruntime.quantization.quantize_dynamic, to measure which int8 form keeps agreement), with
// each one's test accuracy and agreement with float32 tfjs; and the bytes a browser downloads for
// each route (model + runtime + tokenizer, raw and gzip).
//
// Without --export it runs the default pipeline (params.yaml as it is) in a temp copy of the
// project and measures that export. Ids are computed once with the export's own encoder and
// handed to every runtime (tokenisation excluded); every call reads its result back. Each tfjs
// backend runs in its own process (bench/hide-native.mjs hides the native package for pure JS).
// Writes the table between the bench:export markers of docs/evaluate-export.md (--no-write: print only).
// Needs `npm run build` (dist/) and the test venv (.venv: onnx, onnxruntime).
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { failer, freshCopy, REPO, CLI, timedRun } from './lib/project.mjs';

const fail = failer('export');
const { values: args } = parseArgs({
  options: {
    worker: { type: 'string' },
    export: { type: 'string' },
    runs: { type: 'string', default: '300' },
    batch: { type: 'string', default: '256' },
    'no-write': { type: 'boolean', default: false },
  },
});
const runs = Number(args.runs);
const batch = Number(args.batch);
const DOC = path.join(REPO, 'docs/evaluate-export.md');
const MARKERS = ['<!-- bench:export -->', '<!-- /bench:export -->'];

/** The export's test sentences as ids, encoded once by the export's own encoder. */
async function testIds(dir, testFile) {
  const { readExport } = await import('../dist/lib/serve/export-bundle.js');
  const { exportEncoder } = await import('../dist/lib/serve/export-encoder.js');
  const encoder = exportEncoder(await readExport(dir));
  const rows = readFileSync(testFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
  return { ids: rows.map((row) => Array.from(encoder.ids(row.text, encoder.kind === 'words' ? row.tokens : undefined))), y: rows.map((row) => row.y) };
}

/** p50 of `runs` single-sentence calls (after 20 warm-ups) and sentences/s over the whole set in batches. */
async function measure(logits, ids) {
  const one = (i) => [ids[i % ids.length].length ? ids[i % ids.length] : [0]];
  for (let i = 0; i < 20; i++) await logits(one(i));
  const times = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await logits(one(i));
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const predictions = [];
  const start = performance.now();
  for (let at = 0; at < ids.length; at += batch) predictions.push(...(await logits(ids.slice(at, at + batch))));
  const seconds = (performance.now() - start) / 1000;
  return { p50_ms: times[Math.floor(times.length / 2)], throughput_per_s: ids.length / seconds, predictions: predictions.map((row) => row.indexOf(Math.max(...row))) };
}

const pad = (rows) => {
  const width = Math.max(1, ...rows.map((row) => row.length));
  return { flat: rows.flatMap((row) => [...row, ...new Array(width - row.length).fill(0)]), width };
};

/** One runtime in this process: `tfjs` (whatever backend loads) or `onnx:<file>`; prints its figures as JSON. */
async function worker(kind, dir, testFile) {
  const { ids } = await testIds(dir, testFile);
  if (kind === 'tfjs') {
    const { loadTf } = await import('../dist/lib/ml/backend/backend.js');
    const { loadLayersModel } = await import('../dist/lib/ml/models/model-io.js');
    const { tf, info } = await loadTf();
    const model = await loadLayersModel(dir);
    const logits = async (rows) => {
      const { flat, width } = pad(rows);
      const out = tf.tidy(() => model.predict(tf.tensor2d(flat, [rows.length, width], 'int32')));
      const values = await out.array();
      out.dispose();
      return values;
    };
    return { runtime: `tfjs ${info.backend}`, package: info.package, ...(await measure(logits, ids)) };
  }
  const ort = (await import('onnxruntime-node')).default;
  const session = await ort.InferenceSession.create(kind.slice('onnx:'.length), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const logits = async (rows) => {
    const { flat, width } = pad(rows);
    const out = (await session.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(flat, BigInt), [rows.length, width]) })).logits;
    const classes = out.dims[1];
    return rows.map((_, r) => Array.from(out.data.subarray(r * classes, (r + 1) * classes)));
  };
  return { runtime: 'onnxruntime-node', ...(await measure(logits, ids)) };
}

if (args.worker) {
  const [kind, dir, testFile] = JSON.parse(args.worker);
  process.stdout.write(`${JSON.stringify(await worker(kind, dir, testFile))}\n`);
  process.exit(0);
}

// --- the bench ---------------------------------------------------------------------------------
let project = null;
let exportDir = args.export ? path.resolve(args.export) : null;
let testFile;
if (exportDir) testFile = path.join(exportDir, '../data/test.jsonl');
else {
  project = freshCopy(REPO, 'export', readFileSync(path.join(REPO, 'params.yaml'), 'utf8'));
  process.stderr.write(`bench:export: kd-pipeline run in ${project} …\n`);
  timedRun(CLI, project, 'default pipeline', fail);
  exportDir = path.join(project, 'artifacts/export');
  testFile = path.join(project, 'artifacts/data/test.jsonl');
}
const onnxDir = path.join(exportDir, 'onnx');
const python = path.join(REPO, '.venv/bin/python');
const qops = path.join(onnxDir, 'model.qops.onnx');
// ONNX Runtime's own int8 route: weights int8, activations quantised at run time, integer operators.
execFileSync(python, ['-c', `from onnxruntime.quantization import quantize_dynamic, QuantType; quantize_dynamic(${JSON.stringify(path.join(onnxDir, 'model.onnx'))}, ${JSON.stringify(qops)}, weight_type=QuantType.QInt8)`], { stdio: 'inherit' });

const runWorker = (kind, env = {}) => {
  const result = spawnSync(process.execPath, ['--import', path.join(REPO, 'bench/hide-native.mjs'), import.meta.filename, '--worker', JSON.stringify([kind, exportDir, testFile]), '--runs', String(runs), '--batch', String(batch)], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  if (result.status !== 0) fail(`${kind}: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1));
};
const native = runWorker('tfjs');
const rows = [
  ...(native.runtime === 'tfjs tensorflow' ? [{ name: 'tfjs native', file: 'model.json + weights.bin', bytes: ['model.json', 'weights.bin'], ...native }] : []),
  { name: 'tfjs pure JS', file: 'model.json + weights.bin', bytes: ['model.json', 'weights.bin'], ...runWorker('tfjs', { KD_BENCH_HIDE: '@tensorflow/tfjs-node-gpu,@tensorflow/tfjs-node' }) },
  { name: 'onnxruntime-node float32', file: 'onnx/model.onnx', bytes: ['onnx/model.onnx'], ...runWorker(`onnx:${path.join(onnxDir, 'model.onnx')}`) },
  { name: 'onnxruntime-node int8 (DequantizeLinear, exported)', file: 'onnx/model.int8.onnx', bytes: ['onnx/model.int8.onnx'], ...runWorker(`onnx:${path.join(onnxDir, 'model.int8.onnx')}`) },
  { name: 'onnxruntime-node int8 (quantised operators, quantize_dynamic)', file: 'not exported', bytes: ['onnx/model.qops.onnx'], ...runWorker(`onnx:${qops}`) },
];
const { y } = await testIds(exportDir, testFile);
const reference = rows.find((row) => row.name === 'tfjs pure JS').predictions;
const size = (files) => files.reduce((sum, file) => sum + statSync(path.join(exportDir, file)).size, 0);
const share = (a, b) => a.filter((v, i) => v === b[i]).length / a.length;

// What a browser downloads per route: the runtime's files as served, the model, the tokenizer.
const nm = (rel) => path.join(REPO, 'node_modules', rel);
const ortWeb = ['onnxruntime-web/dist/ort.wasm.min.mjs', 'onnxruntime-web/dist/ort-wasm-simd-threaded.mjs', 'onnxruntime-web/dist/ort-wasm-simd-threaded.wasm'].map(nm);
const tokenizers = [nm('@huggingface/tokenizers/dist/tokenizers.min.mjs'), path.join(exportDir, 'tokenizer.json')];
const routes = [
  ['tfjs float32 (the served page)', [nm('@tensorflow/tfjs/dist/tf.min.js'), ...tokenizers, path.join(exportDir, 'model.json'), path.join(exportDir, 'weights.bin')]],
  ['tfjs uint8', [nm('@tensorflow/tfjs/dist/tf.min.js'), ...tokenizers, path.join(exportDir, 'uint8/model.json'), path.join(exportDir, 'uint8/weights.bin')]],
  ['onnxruntime-web float32', [...ortWeb, ...tokenizers, path.join(onnxDir, 'model.onnx')]],
  ['onnxruntime-web int8', [...ortWeb, ...tokenizers, path.join(onnxDir, 'model.int8.onnx')]],
].map(([name, files]) => {
  const bytes = files.map((file) => readFileSync(file));
  return { name, raw: bytes.reduce((a, b) => a + b.length, 0), gzip: bytes.reduce((a, b) => a + gzipSync(b, { level: 9 }).length, 0) };
});

const kb = (n) => `${(n / 1000).toLocaleString('en-US', { maximumFractionDigits: 1 })} kB`;
const pct = (x) => `${(x * 100).toFixed(1)} %`;
const lines = [
  MARKERS[0],
  `\`npm run bench:export\`, ${new Date().toISOString().slice(0, 10)}, this 2-core machine (shared), the default pipeline's tiny student (${exportDir.includes('kd-bench') ? 'trained by the bench\'s own `kd-pipeline run`' : exportDir}); ${y.length} test sentences, ${runs} single-sentence calls per runtime, batches of ${batch}; onnxruntime-node with one thread.`,
  '',
  '| runtime | file | bytes | accuracy | agrees with float32 tfjs | p50, one sentence | sentences/s, batched |',
  '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map((row) => `| ${row.name} | ${row.file} | ${size(row.bytes).toLocaleString('en-US')} | ${pct(share(row.predictions, y))} | ${pct(share(row.predictions, reference))} | ${row.p50_ms.toFixed(3)} ms | ${Math.round(row.throughput_per_s).toLocaleString('en-US')} |`),
  ...(native.runtime === 'tfjs tensorflow' ? [] : ['', `tfjs native: not measured (${native.package} loaded: run \`npm run native\` first).`]),
  '',
  '| browser route | downloads (raw) | gzip |',
  '| --- | ---: | ---: |',
  ...routes.map((route) => `| ${route.name} | ${kb(route.raw)} | ${kb(route.gzip)} |`),
  MARKERS[1],
];
const table = lines.join('\n');
process.stdout.write(`${table}\n`);
if (!args['no-write']) {
  const doc = readFileSync(DOC, 'utf8');
  const [start, end] = MARKERS.map((marker) => doc.indexOf(marker));
  if (start < 0 || end < 0) fail(`${DOC}: the ${MARKERS.join(' … ')} markers are missing`);
  writeFileSync(DOC, `${doc.slice(0, start)}${table}${doc.slice(end + MARKERS[1].length)}`);
  process.stderr.write(`bench:export: wrote the figures into ${path.relative(REPO, DOC)}\n`);
}
rmSync(qops);
if (project) rmSync(project, { recursive: true, force: true });
