#!/usr/bin/env node
// npm run bench:encoder [-- --words 3000 --sentences 1000 --batch 64 --threads 2 --repeat 12]
//
// Encoding throughput of the transformer teacher's encoder in Node — lib/ml/teacher/sentence-
// encoder.ts: transformers.js's tokenizer, onnxruntime-node's session fed directly, mean pooling
// inside the ONNX graph (a head appended to the model, encoder-model.ts) — against Python
// onnxruntime with the Rust `tokenizers` (bench/encode_reference.py: the same ONNX file, numpy
// pooling after the run), with the same max_tokens, batch size and thread count (both sides run one
// batch at a time on all the threads), on two workloads: single words (the data
// set's distinct words, each encoded alone, as the vocabulary-word transfer rows are) and the data
// set's sentences. Python runs twice: with onnxruntime's default session options (its intra-op
// threads spin while idle) — Python onnxruntime as its users run it, the comparison (same
// model, batch and threads) — and with the Node session's options too (idle threads sleep), the
// stricter comparison, which leaves only what differs outside the session. Each has a verdict.
// The machine is shared, so the sides alternate: both Python sides are worker processes that stay
// loaded (encode_reference.py serve), and each round times one pass of each of the three sides,
// back to back, on words, then on sentences, in an order that cycles through all six every six
// rounds, so a load that drifts within a round favours no side. Every side encodes each workload
// once before the first round, and times only its encode (tokenising, batching, the session,
// pooling). Each verdict is the median over rounds of
// Node ÷ Python within a round (the two ran back to back, under about the same load); the mean of
// those ratios with its 95 % interval, and each side's median and best round, are printed too.
// Needs models/encoder (npm run setup) and python3; installs the pinned
// onnxruntime/tokenizers/numpy into .venv-bench/ unless it holds exactly those.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
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
    repeat: { type: 'string', default: '12' },
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

/**
 * A Python timing worker (bench/encode_reference.py serve) that stays loaded for the whole bench, so
 * a round times one warm pass on each side, back to back, with no process start between them.
 */
async function pythonWorker(spinning) {
  const child = spawn(
    python,
    [path.join(REPO, 'bench/encode_reference.py'), 'serve', dir, path.join(dir, info.onnx), '--batch', String(batch), '--threads', String(threads), '--max-tokens', String(MAX_TOKENS), '--spinning', String(spinning)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`bench/encode_reference.py serve (spinning ${spinning}) exited early`);
    return JSON.parse(value);
  };
  child.stdin.write(`${JSON.stringify(workloads)}\n`);
  const { onnxruntime } = await next();
  return {
    onnxruntime,
    /** Texts per second of one pass over the workload `name`. */
    async rate(name) {
      child.stdin.write(`${name}\n`);
      return workloads[name].length / (await next()).seconds;
    },
    close: () => child.stdin.end(),
  };
}

const p = { model: info.model, dtype: info.dtype, pooling: 'mean', max_tokens: MAX_TOKENS, long_text: 'windows', window_overlap: 16, batch_size: batch, device: 'cpu', threads, head: {} };
const encoder = await SentenceEncoder.load(dir, info, p, 'embedding');
for (const texts of Object.values(workloads)) await encoder.encode(texts); // warm-up: each workload once, as the Python workers do
const pieces = Object.fromEntries(Object.entries(workloads).map(([name, texts]) => [name, texts.reduce((sum, t) => sum + Math.min(encoder.pieces(t), MAX_TOKENS - 2), 0) / texts.length]));
const [pythonSame, pythonDefaults] = [await pythonWorker(0), await pythonWorker(1)];
const onnxruntime = pythonSame.onnxruntime;
async function nodeRate(name) {
  const start = performance.now();
  await encoder.encode(workloads[name]);
  return workloads[name].length / ((performance.now() - start) / 1000);
}
const rounds = { words: { node: [], python: [], python_spinning: [] }, sentences: { node: [], python: [], python_spinning: [] } };
const sides = { node: nodeRate, python: pythonSame.rate, python_spinning: pythonDefaults.rate };
// The six orders of the three sides: round r runs ORDERS[r % 6].
const ORDERS = [
  ['node', 'python', 'python_spinning'],
  ['python_spinning', 'python', 'node'],
  ['python', 'python_spinning', 'node'],
  ['node', 'python_spinning', 'python'],
  ['python_spinning', 'node', 'python'],
  ['python', 'node', 'python_spinning'],
];
for (let r = 0; r < repeat; r++) {
  for (const name of Object.keys(workloads)) {
    const rate = {};
    for (const side of ORDERS[r % ORDERS.length]) rate[side] = await sides[side](name);
    for (const side of Object.keys(sides)) rounds[name][side].push(rate[side]);
    process.stderr.write(
      `round ${r + 1}/${repeat} ${name}: Node ${rate.node.toFixed(0)}/s, Python with defaults ${rate.python_spinning.toFixed(0)}/s (${(rate.node / rate.python_spinning).toFixed(3)}×), ` +
        `with Node's options ${rate.python.toFixed(0)}/s (${(rate.node / rate.python).toFixed(3)}×)\n`,
    );
  }
}
pythonSame.close();
pythonDefaults.close();
await encoder.dispose();

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
// Student's t at 97.5 % for 1–20 degrees of freedom (≈ 2 beyond): the 95 % interval of the mean ratio.
const T975 = [12.71, 4.3, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23, 2.2, 2.18, 2.16, 2.14, 2.13, 2.12, 2.11, 2.1, 2.09, 2.09];
/** Geometric mean of the ratios with its 95 % interval (a t-interval on their logarithms). */
function meanInterval(ratios) {
  const logs = ratios.map(Math.log);
  const mean = logs.reduce((a, b) => a + b, 0) / logs.length;
  if (logs.length < 2) return { mean: Math.exp(mean), low: NaN, high: NaN };
  const sd = Math.sqrt(logs.reduce((a, x) => a + (x - mean) ** 2, 0) / (logs.length - 1));
  const half = (T975[logs.length - 2] ?? 2) * (sd / Math.sqrt(logs.length));
  return { mean: Math.exp(mean), low: Math.exp(mean - half), high: Math.exp(mean + half) };
}
const summary = Object.fromEntries(
  Object.entries(rounds).map(([name, { node, python: py, python_spinning: spin }]) => {
    // Paired: within a round both sides saw about the same load, which drifts from round to round.
    const ratios = node.map((x, i) => x / py[i]);
    const ratio = median(ratios);
    const toDefaults = node.map((x, i) => x / spin[i]);
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
        ratio_mean_interval: meanInterval(ratios),
        ratio_to_defaults: median(toDefaults),
        ratio_to_defaults_mean_interval: meanInterval(toDefaults),
        pass_against_defaults: median(toDefaults) >= GOAL,
        pass_against_same_options: ratio >= GOAL,
        node_rounds: node,
        python_rounds: py,
        python_defaults_rounds: spin,
      },
    ];
  }),
);
const result = { model: info.model, dtype: info.dtype, batch, threads, max_tokens: MAX_TOKENS, repeat, python_onnxruntime: onnxruntime, goal: GOAL, ...summary };

console.log(`\nbench:encoder — ${info.model} (${info.dtype}), batch ${batch}, ${threads} thread(s), max_tokens ${MAX_TOKENS}; ${repeat} rounds: median (best) texts/s; Node ÷ Python, the median of the rounds' ratios (≥ ${GOAL}× to pass) and their mean (95 % interval)`);
console.log(`\n| workload | Node: this project (transformers.js tokenizer + onnxruntime-node) | Python: tokenizers + onnxruntime ${onnxruntime}, its default session options | Node ÷ that | verdict | mean (95 % interval) | Python with the Node session's options too | Node ÷ that | verdict | mean (95 % interval) |`);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
const interval = ({ mean, low, high }) => `${mean.toFixed(3)}× (${low.toFixed(3)}–${high.toFixed(3)})`;
for (const [name, s] of Object.entries(summary)) {
  const label = name === 'words' ? `${s.texts.toLocaleString('en-US')} single words (${s.mean_pieces.toFixed(2)} pieces each)` : `${s.texts.toLocaleString('en-US')} sentences (${s.mean_pieces.toFixed(1)} pieces each)`;
  console.log(
    `| ${label} | ${s.node_median.toFixed(0)} (${s.node_best.toFixed(0)}) | ${s.python_defaults_median.toFixed(0)} (${s.python_defaults_best.toFixed(0)}) | ${s.ratio_to_defaults.toFixed(3)}× | ${s.pass_against_defaults ? 'pass' : 'FAIL'} | ${interval(s.ratio_to_defaults_mean_interval)} ` +
      `| ${s.python_median.toFixed(0)} (${s.python_best.toFixed(0)}) | ${s.ratio.toFixed(3)}× | ${s.pass_against_same_options ? 'pass' : 'FAIL'} | ${interval(s.ratio_mean_interval)} |`,
  );
}
const out = path.resolve(REPO, args.out);
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(`\nresults in ${path.relative(process.cwd(), out)}`);
