#!/usr/bin/env node
// npm run bench:encoder [-- --words 3000 --sentences 1000 --batch 64 --threads 2 --repeat 4]
//
// Encoding throughput of the transformer teacher's encoder in Node — lib/ml/teacher/sentence-
// encoder.ts: transformers.js's tokenizer, onnxruntime-node's session fed directly, mean pooling
// inside the ONNX graph (a head appended to the model, encoder-model.ts) — against Python
// onnxruntime with the Rust `tokenizers` (bench/encode_reference.py: the same ONNX file, numpy
// pooling after the run), with the same max_tokens, batch size and thread count (both sides run one
// batch at a time on all the threads), on two workloads: single words (the data
// set's distinct words, each encoded alone, as the vocabulary-word transfer rows are) and the data
// set's sentences. Python runs with the Node session's options (idle intra-op threads sleep rather
// than spin) — the pass/fail comparison — and with onnxruntime's defaults (spinning), shown beside.
// The machine is shared, so the sides alternate — each round: Node, Python, Python with defaults,
// on words then on sentences. Pass/fail is the median over rounds of Node ÷ Python within a round
// (the two ran back to back, under about the same load); each side's median and best round are
// printed too.
// Every round starts warm (Node: two batches encoded first; Python: one). Needs models/encoder (npm run setup) and
// python3; installs the pinned onnxruntime/tokenizers/numpy into .venv-bench/ unless it holds exactly those.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parse } from 'csv-parse/sync';

const REPO = path.resolve(import.meta.dirname, '..');
// onnxruntime at the version onnxruntime-node has, so the two run the same runtime.
const PYTHON_PACKAGES = ['onnxruntime==1.30.0', 'tokenizers==0.23.3', 'numpy==2.4.6'];
const GOAL = 1.0;
const MAX_TOKENS = 128;
const { values: args } = parseArgs({
  options: {
    words: { type: 'string', default: '3000' },
    sentences: { type: 'string', default: '1000' },
    batch: { type: 'string', default: '64' },
    threads: { type: 'string', default: '2' },
    repeat: { type: 'string', default: '4' },
    out: { type: 'string', default: 'artifacts/bench/encoder.json' },
  },
});
const batch = Number(args.batch);
const threads = Number(args.threads);
const repeat = Number(args.repeat);

const { readEncoderFolder } = await import('../dist/lib/ml/teacher/encoder-folder.js');
const { SentenceEncoder } = await import('../dist/lib/ml/teacher/sentence-encoder.js');
const { dir, info } = readEncoderFolder(REPO);
const rows = parse(readFileSync(path.join(REPO, 'data/sentiment-labelled-sentences.csv')), { columns: true });
const sentences = rows.map((r) => r.text).filter((t) => t.trim() !== '').slice(0, Number(args.sentences));
const words = [...new Set(rows.flatMap((r) => r.text.toLowerCase().match(/\p{L}+/gu) ?? []))].slice(0, Number(args.words));
const workloads = { words, sentences };

// A venv of its own: the test venv (.venv/) pins the onnxruntime the tests want, which need not be onnxruntime-node's.
const venv = path.join(REPO, '.venv-bench');
const python = path.join(venv, 'bin', 'python');
if (!existsSync(python)) execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
const installed = spawnSync(python, ['-c', 'import onnxruntime, tokenizers, numpy; print(f"onnxruntime=={onnxruntime.__version__} tokenizers=={tokenizers.__version__} numpy=={numpy.__version__}")'], { encoding: 'utf8' });
if (installed.status !== 0 || installed.stdout.trim() !== PYTHON_PACKAGES.join(' ')) execFileSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...PYTHON_PACKAGES], { stdio: 'inherit' });

/** One Python round on `texts`: texts per second (its own warm-up first, timing inside the process). */
function pythonRound(texts, spinning) {
  const py = spawnSync(
    python,
    [path.join(REPO, 'bench/encode_reference.py'), 'speed', dir, path.join(dir, info.onnx), '--batch', String(batch), '--threads', String(threads), '--max-tokens', String(MAX_TOKENS), '--spinning', String(spinning)],
    { input: JSON.stringify(texts), encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  if (py.status !== 0) throw new Error(`bench/encode_reference.py failed:\n${py.stderr}`);
  return JSON.parse(py.stdout);
}

const p = { model: info.model, dtype: info.dtype, pooling: 'mean', max_tokens: MAX_TOKENS, long_text: 'windows', window_overlap: 16, batch_size: batch, device: 'cpu', threads, head: {} };
const encoder = await SentenceEncoder.load(dir, info, p, 'embedding');
await encoder.encode(sentences.slice(0, 2 * batch)); // warm-up: two batches
const pieces = Object.fromEntries(Object.entries(workloads).map(([name, texts]) => [name, texts.reduce((sum, t) => sum + Math.min(encoder.pieces(t), MAX_TOKENS - 2), 0) / texts.length]));
const rounds = { words: { node: [], python: [], python_spinning: [] }, sentences: { node: [], python: [], python_spinning: [] } };
let onnxruntime = '';
for (let r = 0; r < repeat; r++) {
  for (const [name, texts] of Object.entries(workloads)) {
    await encoder.encode(texts.slice(0, 2 * batch));
    const start = performance.now();
    await encoder.encode(texts);
    rounds[name].node.push(texts.length / ((performance.now() - start) / 1000));
    const py = pythonRound(texts, 0);
    rounds[name].python.push(py.sentences_per_second);
    rounds[name].python_spinning.push(pythonRound(texts, 1).sentences_per_second);
    onnxruntime = py.onnxruntime;
    const [n, q, d] = [rounds[name].node, rounds[name].python, rounds[name].python_spinning].map((xs) => xs.at(-1).toFixed(0));
    process.stderr.write(`round ${r + 1}/${repeat} ${name}: Node ${n}/s, Python ${q}/s, Python with defaults ${d}/s\n`);
  }
}
await encoder.dispose();

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const summary = Object.fromEntries(
  Object.entries(rounds).map(([name, { node, python: py, python_spinning: spin }]) => {
    // Paired: within a round both sides saw about the same load, which drifts from round to round.
    const ratio = median(node.map((x, i) => x / py[i]));
    return [
      name,
      {
        texts: workloads[name].length,
        mean_pieces: pieces[name],
        node_median: median(node),
        python_median: median(py),
        python_defaults_median: median(spin),
        node_best: Math.max(...node),
        python_best: Math.max(...py),
        python_defaults_best: Math.max(...spin),
        ratio,
        ratio_to_defaults: median(node.map((x, i) => x / spin[i])),
        pass: ratio >= GOAL,
        node_rounds: node,
        python_rounds: py,
        python_defaults_rounds: spin,
      },
    ];
  }),
);
const result = { model: info.model, dtype: info.dtype, batch, threads, max_tokens: MAX_TOKENS, repeat, python_onnxruntime: onnxruntime, goal: GOAL, ...summary };

console.log(`\nbench:encoder — ${info.model} (${info.dtype}), batch ${batch}, ${threads} thread(s), max_tokens ${MAX_TOKENS}; ${repeat} alternating rounds: median (best) texts/s, and the median of the rounds' Node ÷ Python`);
console.log(`\n| workload | Node: this project (transformers.js tokenizer + onnxruntime-node) | Python: tokenizers + onnxruntime ${onnxruntime}, same session options | Node ÷ Python, median of rounds | ≥ ${GOAL}× | Python, onnxruntime's default spinning | Node ÷ that |`);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const [name, s] of Object.entries(summary)) {
  const label = name === 'words' ? `${s.texts.toLocaleString('en-US')} single words (${s.mean_pieces.toFixed(2)} pieces each)` : `${s.texts.toLocaleString('en-US')} sentences (${s.mean_pieces.toFixed(1)} pieces each)`;
  console.log(`| ${label} | ${s.node_median.toFixed(0)} (${s.node_best.toFixed(0)}) | ${s.python_median.toFixed(0)} (${s.python_best.toFixed(0)}) | ${s.ratio.toFixed(2)}× | ${s.pass ? 'pass' : 'FAIL'} | ${s.python_defaults_median.toFixed(0)} (${s.python_defaults_best.toFixed(0)}) | ${s.ratio_to_defaults.toFixed(2)}× |`);
}
const out = path.resolve(REPO, args.out);
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(`\nresults in ${path.relative(process.cwd(), out)}`);
