#!/usr/bin/env node
// npm run bench:encoder [-- --sentences 1000 --batch 64 --threads 2 --repeat 3]
//
// Encoding throughput of the transformer teacher's encoder (sentences per second) in Node —
// lib/ml/teacher/sentence-encoder.ts: transformers.js's tokenizer, ONNX Runtime for Node, mean
// pooling — against Python onnxruntime with the Rust `tokenizers` (bench/encode_reference.py) on
// the same ONNX file, the same sentences (the embedded data set's), batch size and thread count,
// one after the other in one run. Best of --repeat for each. Needs models/encoder (npm run setup)
// and python3; installs pinned onnxruntime/tokenizers/numpy into .venv/ when missing.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parse } from 'csv-parse/sync';

const REPO = path.resolve(import.meta.dirname, '..');
// onnxruntime at the version onnxruntime-node has, so the two run the same runtime.
const PYTHON_PACKAGES = ['onnxruntime==1.30.0', 'tokenizers==0.23.3', 'numpy==2.4.6'];
const { values: args } = parseArgs({
  options: {
    sentences: { type: 'string', default: '1000' },
    batch: { type: 'string', default: '64' },
    threads: { type: 'string', default: '2' },
    repeat: { type: 'string', default: '3' },
    out: { type: 'string', default: 'artifacts/bench/encoder.json' },
  },
});
const n = Number(args.sentences);
const batch = Number(args.batch);
const threads = Number(args.threads);
const repeat = Number(args.repeat);

const { readEncoderFolder } = await import('../dist/lib/ml/teacher/encoder-folder.js');
const { SentenceEncoder } = await import('../dist/lib/ml/teacher/sentence-encoder.js');
const { dir, info } = readEncoderFolder(REPO);
const rows = parse(readFileSync(path.join(REPO, 'data/sentiment-labelled-sentences.csv')), { columns: true });
const texts = rows.map((r) => r.text).filter((t) => t.trim() !== '').slice(0, n);

const encoder = await SentenceEncoder.load(dir, info, { model: info.model, dtype: info.dtype, pooling: 'mean', max_tokens: 128, batch_size: batch, device: 'cpu', threads, head: {} }, 'embedding');
await encoder.encode(texts.slice(0, batch)); // warm-up
let node = 0;
for (let i = 0; i < repeat; i++) {
  const start = performance.now();
  await encoder.encode(texts);
  node = Math.max(node, texts.length / ((performance.now() - start) / 1000));
}
await encoder.dispose();

const venv = path.join(REPO, '.venv');
const python = path.join(venv, 'bin', 'python');
if (!existsSync(python)) execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
const missing = spawnSync(python, ['-c', 'import onnxruntime, tokenizers, numpy'], { encoding: 'utf8' }).status !== 0;
if (missing) execFileSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...PYTHON_PACKAGES], { stdio: 'inherit' });
const py = spawnSync(
  python,
  [path.join(REPO, 'bench/encode_reference.py'), 'speed', dir, path.join(dir, info.onnx), '--batch', String(batch), '--threads', String(threads), '--repeat', String(repeat)],
  { input: JSON.stringify(texts), encoding: 'utf8', maxBuffer: 1 << 26 },
);
if (py.status !== 0) throw new Error(`bench/encode_reference.py failed:\n${py.stderr}`);
const reference = JSON.parse(py.stdout);

const result = {
  sentences: texts.length,
  batch,
  threads,
  model: info.model,
  dtype: info.dtype,
  node_sentences_per_second: node,
  python_sentences_per_second: reference.sentences_per_second,
  python_onnxruntime: reference.onnxruntime,
  ratio: node / reference.sentences_per_second,
  goal: 0.9,
};
console.log(`\nbench:encoder — ${texts.length} sentences of the embedded data set, ${info.model} (${info.dtype}), batch ${batch}, ${threads} thread(s), best of ${repeat}`);
console.log('\n| encoder | sentences/s |\n| --- | --- |');
console.log(`| Node: transformers.js + onnxruntime-node (this project) | ${node.toFixed(0)} |`);
console.log(`| Python: tokenizers + onnxruntime ${reference.onnxruntime} | ${reference.sentences_per_second.toFixed(0)} |`);
console.log(`\nNode ÷ Python: ${result.ratio.toFixed(2)}× (goal ≥ ${result.goal}×: ${result.ratio >= result.goal ? 'met' : 'NOT met'})`);
const out = path.resolve(REPO, args.out);
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(`results in ${path.relative(process.cwd(), out)}`);
