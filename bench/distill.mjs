#!/usr/bin/env node
// npm run bench:distill [-- --seeds 3 --set student.alpha=0.5 --keep --no-encoder-bench]
//
// For each of `--seeds` seeds (params.yaml's seed, +1, +2…; the seed drives the split, the
// initialisation, the shuffling and the augmentation): a fresh temp copy of this project as a clean
// clone has it after `npm install && npm run setup` (pipeline.yaml, params.yaml, pipeline.lock,
// data/, models/encoder; no .kd/ cache, so every stage really runs and every sentence is encoded),
// then `kd-pipeline run --json`, timed end to end. Prints mean ± sd of teacher, student and baseline
// test accuracy, the distillation gain, the parameter and p50-latency ratios, the end-to-end wall
// time and each stage's time, checked against the targets of the transformer-teacher issue; then
// the encoder's throughput against Python onnxruntime (npm run bench:encoder). `--set key=value`
// overrides a params.yaml value (parsed as YAML) in the copies only. Needs `npm run setup`.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';

const REPO = path.resolve(import.meta.dirname, '..');
const CLI = path.join(REPO, 'bin/kd-pipeline.js');
const STAGES = ['encoder', 'preprocess', 'build-vocab', 'train-teacher', 'generate-soft-labels', 'train-student', 'train-baseline', 'evaluate', 'export'];
const TARGETS = { teacher_accuracy: 0.9, student_accuracy: 0.87, distillation_gain: 0.03, param_ratio: 100, latency_ratio: 10, wall_seconds: 180 };

const { values: args } = parseArgs({
  options: {
    seeds: { type: 'string', default: '3' },
    set: { type: 'string', multiple: true, default: [] },
    keep: { type: 'boolean', default: false },
    'no-encoder-bench': { type: 'boolean', default: false },
    out: { type: 'string', default: 'artifacts/bench/distill.json' },
  },
});

function fail(message) {
  process.stderr.write(`bench:distill: ${message}\n`);
  process.exit(1);
}

/** params.yaml with the seed and every --set override applied. */
function params(seed) {
  const p = parse(readFileSync(path.join(REPO, 'params.yaml'), 'utf8'));
  p.seed = seed;
  for (const entry of args.set) {
    const eq = entry.indexOf('=');
    if (eq < 1) fail(`--set ${entry}: expected key=value`);
    const keys = entry.slice(0, eq).split('.');
    let node = p;
    for (const key of keys.slice(0, -1)) {
      if (typeof node[key] !== 'object' || node[key] === null) fail(`--set ${entry}: params.yaml has no section ${key}`);
      node = node[key];
    }
    node[keys.at(-1)] = parse(entry.slice(eq + 1));
  }
  return stringify(p);
}

function runSeed(seed) {
  const root = mkdtempSync(path.join(tmpdir(), `kd-bench-${seed}-`));
  for (const rel of ['pipeline.yaml', 'pipeline.lock', 'data', 'models/encoder']) cpSync(path.join(REPO, rel), path.join(root, rel), { recursive: true });
  writeFileSync(path.join(root, 'params.yaml'), params(seed));
  const env = { ...process.env };
  delete env.MLFLOW_TRACKING_URI;
  const start = performance.now();
  const result = spawnSync('node', [CLI, 'run', '--json'], { cwd: root, encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 });
  const wall = (performance.now() - start) / 1000;
  if (result.status !== 0) fail(`seed ${seed}: kd-pipeline run failed (project kept in ${root}):\n${result.stderr.split('\n').slice(-30).join('\n')}`);
  const seconds = Object.fromEntries(JSON.parse(result.stdout).stages.map((s) => [s.name, s.seconds]));
  const backend = /on (tensorflow|cpu)[,:]/.exec(result.stderr)?.[1] ?? 'unknown';
  process.stderr.write(`  seed ${seed}: ${wall.toFixed(1)} s end to end (${STAGES.map((s) => `${s} ${(seconds[s] ?? 0).toFixed(1)}`).join(', ')})\n`);
  const m = JSON.parse(readFileSync(path.join(root, 'artifacts/metrics.json'), 'utf8'));
  if (!args.keep) rmSync(root, { recursive: true, force: true });
  return {
    seed,
    backend,
    wall_seconds: wall,
    teacher_accuracy: m['teacher.accuracy'],
    student_accuracy: m['student.accuracy'],
    baseline_accuracy: m['baseline.accuracy'],
    distillation_gain: m['student.accuracy'] - m['baseline.accuracy'],
    student_over_teacher: m['student.accuracy'] / m['teacher.accuracy'],
    param_ratio: m['teacher.params'] / m['student.params'],
    latency_ratio: m['teacher.latency_p50_ms'] / m['student.latency_p50_ms'],
    teacher_params: m['teacher.params'],
    student_params: m['student.params'],
    teacher_p50_ms: m['teacher.latency_p50_ms'],
    student_p50_ms: m['student.latency_p50_ms'],
    seconds,
    ...(args.keep ? { project: root } : {}),
  };
}

function meanSd(values) {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = values.length > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1)) : 0;
  return { mean, sd };
}

const seedCount = Number(args.seeds);
if (!Number.isInteger(seedCount) || seedCount < 1) fail(`--seeds ${args.seeds}: expected a positive integer`);
const base = parse(readFileSync(path.join(REPO, 'params.yaml'), 'utf8')).seed;
const runs = Array.from({ length: seedCount }, (_, i) => runSeed(base + i));

const keys = ['teacher_accuracy', 'student_accuracy', 'baseline_accuracy', 'distillation_gain', 'student_over_teacher', 'param_ratio', 'latency_ratio', 'teacher_p50_ms', 'student_p50_ms', 'wall_seconds'];
const summary = Object.fromEntries(keys.map((key) => [key, meanSd(runs.map((run) => run[key]))]));
const stageSeconds = Object.fromEntries(STAGES.map((stage) => [stage, meanSd(runs.map((run) => run.seconds[stage] ?? 0))]));
const goals = {
  teacher_accuracy: summary.teacher_accuracy.mean >= TARGETS.teacher_accuracy,
  student_accuracy: summary.student_accuracy.mean >= TARGETS.student_accuracy,
  distillation_gain: summary.distillation_gain.mean >= TARGETS.distillation_gain,
  param_ratio: summary.param_ratio.mean >= TARGETS.param_ratio,
  latency_ratio: summary.latency_ratio.mean >= TARGETS.latency_ratio,
  wall_seconds: summary.wall_seconds.mean < TARGETS.wall_seconds,
};

const fmt = ({ mean, sd }, digits = 4) => `${mean.toFixed(digits)} ± ${sd.toFixed(digits)}`;
const met = (goal) => (goal ? 'yes' : 'NO');
console.log(`\nbench:distill — ${seedCount} seed(s) from ${base} on ${[...new Set(runs.map((run) => run.backend))].join(', ')}${args.set.length ? `, overrides: ${args.set.join(' ')}` : ''}`);
console.log('\n| metric | mean ± sd | target | met |\n| --- | --- | --- | --- |');
console.log(`| teacher test accuracy | ${fmt(summary.teacher_accuracy)} | ≥ ${TARGETS.teacher_accuracy} | ${met(goals.teacher_accuracy)} |`);
console.log(`| student test accuracy | ${fmt(summary.student_accuracy)} | ≥ ${TARGETS.student_accuracy} | ${met(goals.student_accuracy)} |`);
console.log(`| baseline test accuracy | ${fmt(summary.baseline_accuracy)} | | |`);
console.log(`| student − baseline | ${fmt(summary.distillation_gain)} | ≥ ${TARGETS.distillation_gain} | ${met(goals.distillation_gain)} |`);
console.log(`| student ÷ teacher accuracy | ${fmt(summary.student_over_teacher)} | | |`);
console.log(`| teacher ÷ student params | ${fmt(summary.param_ratio, 1)} (${runs[0].teacher_params.toLocaleString('en-US')} ÷ ${runs[0].student_params.toLocaleString('en-US')}) | ≥ ${TARGETS.param_ratio} | ${met(goals.param_ratio)} |`);
console.log(`| teacher ÷ student p50 latency | ${fmt(summary.latency_ratio, 1)} (${fmt(summary.teacher_p50_ms, 2)} ms ÷ ${fmt(summary.student_p50_ms, 3)} ms) | ≥ ${TARGETS.latency_ratio} | ${met(goals.latency_ratio)} |`);
console.log(`| default pipeline end to end, cold caches | ${fmt(summary.wall_seconds, 1)} s | < ${TARGETS.wall_seconds} s | ${met(goals.wall_seconds)} |`);
console.log('\n| stage | wall s (mean ± sd) |\n| --- | --- |');
for (const stage of STAGES) console.log(`| ${stage} | ${fmt(stageSeconds[stage], 1)} |`);

const out = path.resolve(REPO, args.out);
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ seeds: seedCount, overrides: args.set, runs, summary, stage_seconds: stageSeconds, targets: TARGETS, goals }, null, 2)}\n`);
console.log(`\nresults in ${path.relative(process.cwd(), out)}`);

if (!args['no-encoder-bench']) {
  const encoder = spawnSync('node', [path.join(REPO, 'bench/encoder.mjs')], { stdio: 'inherit' });
  if (encoder.status !== 0) fail('bench/encoder.mjs failed');
}
