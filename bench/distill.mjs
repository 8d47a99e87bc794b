#!/usr/bin/env node
// npm run bench:distill [-- --seeds 3 --set teacher.train.epochs=8 --set student.alpha=0.5 --keep]
//
// Runs preprocess → build-vocab → train-teacher → generate-soft-labels → train-student →
// train-baseline → evaluate in a fresh temp copy of this project (pipeline.yaml, params.yaml,
// data/) for each of `--seeds` seeds (params.yaml's seed, +1, +2…; the seed drives the split, the
// initialisation, the shuffling and the augmentation), then prints mean ± sd of teacher, student
// and baseline test accuracy, the parameter and p50-latency ratios and each stage's wall time, and
// checks them against the distillation targets. `--set key=value` overrides a params.yaml value
// (value parsed as YAML) in the copies only. Needs `npm run build`.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';

const REPO = path.resolve(import.meta.dirname, '..');
const CLI = path.join(REPO, 'bin/kd-pipeline.js');
const STAGES = ['preprocess', 'build-vocab', 'train-teacher', 'generate-soft-labels', 'train-student', 'train-baseline', 'evaluate'];
const TARGETS = { teacher_accuracy: 0.86, student_over_teacher: 0.98, param_ratio: 10, latency_ratio: 5 };

const { values: args } = parseArgs({
  options: {
    seeds: { type: 'string', default: '3' },
    set: { type: 'string', multiple: true, default: [] },
    keep: { type: 'boolean', default: false },
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
  cpSync(path.join(REPO, 'pipeline.yaml'), path.join(root, 'pipeline.yaml'));
  cpSync(path.join(REPO, 'data'), path.join(root, 'data'), { recursive: true });
  writeFileSync(path.join(root, 'params.yaml'), params(seed));
  const seconds = {};
  let backend = 'unknown';
  for (const stage of STAGES) {
    const start = performance.now();
    const result = spawnSync('node', [CLI, 'stage', stage], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'inherit', 'pipe'] });
    seconds[stage] = (performance.now() - start) / 1000;
    const last = result.stderr.trim().split('\n').at(-1);
    process.stderr.write(`  seed ${seed} ${stage}: ${seconds[stage].toFixed(1)} s — ${last}\n`);
    if (result.status !== 0) fail(`seed ${seed}: stage ${stage} failed (project kept in ${root}):\n${result.stderr}`);
    backend = /epoch\(s\) on (\S+),/.exec(result.stderr)?.[1] ?? backend;
  }
  const m = JSON.parse(readFileSync(path.join(root, 'artifacts/metrics.json'), 'utf8'));
  if (!args.keep) rmSync(root, { recursive: true, force: true });
  return {
    seed,
    backend,
    teacher_accuracy: m['teacher.accuracy'],
    student_accuracy: m['student.accuracy'],
    baseline_accuracy: m['baseline.accuracy'],
    student_over_teacher: m['student.accuracy'] / m['teacher.accuracy'],
    param_ratio: m['teacher.params'] / m['student.params'],
    latency_ratio: m['teacher.latency_p50_ms'] / m['student.latency_p50_ms'],
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

const keys = ['teacher_accuracy', 'student_accuracy', 'baseline_accuracy', 'student_over_teacher', 'param_ratio', 'latency_ratio', 'teacher_p50_ms', 'student_p50_ms'];
const summary = Object.fromEntries(keys.map((key) => [key, meanSd(runs.map((run) => run[key]))]));
const stageSeconds = Object.fromEntries(STAGES.map((stage) => [stage, meanSd(runs.map((run) => run.seconds[stage]))]));
const goals = {
  teacher_accuracy: summary.teacher_accuracy.mean >= TARGETS.teacher_accuracy,
  student_over_teacher: summary.student_over_teacher.mean >= TARGETS.student_over_teacher,
  param_ratio: summary.param_ratio.mean >= TARGETS.param_ratio,
  latency_ratio: summary.latency_ratio.mean >= TARGETS.latency_ratio,
  student_beats_baseline: summary.student_accuracy.mean > summary.baseline_accuracy.mean,
};

const fmt = ({ mean, sd }, digits = 4) => `${mean.toFixed(digits)} ± ${sd.toFixed(digits)}`;
console.log(`\nbench:distill — ${seedCount} seed(s) from ${base} on ${[...new Set(runs.map((run) => run.backend))].join(', ')}${args.set.length ? `, overrides: ${args.set.join(' ')}` : ''}`);
console.log('\n| metric | mean ± sd | target | met |\n| --- | --- | --- | --- |');
console.log(`| teacher test accuracy | ${fmt(summary.teacher_accuracy)} | ≥ ${TARGETS.teacher_accuracy} | ${goals.teacher_accuracy ? 'yes' : 'NO'} |`);
console.log(`| student test accuracy | ${fmt(summary.student_accuracy)} | | |`);
console.log(`| baseline test accuracy | ${fmt(summary.baseline_accuracy)} | student above | ${goals.student_beats_baseline ? 'yes' : 'NO'} |`);
console.log(`| student ÷ teacher accuracy | ${fmt(summary.student_over_teacher)} | ≥ ${TARGETS.student_over_teacher} | ${goals.student_over_teacher ? 'yes' : 'NO'} |`);
console.log(`| teacher ÷ student params | ${fmt(summary.param_ratio, 2)} | ≥ ${TARGETS.param_ratio} | ${goals.param_ratio ? 'yes' : 'NO'} |`);
console.log(`| teacher ÷ student p50 latency | ${fmt(summary.latency_ratio, 2)} (${fmt(summary.teacher_p50_ms, 3)} ms ÷ ${fmt(summary.student_p50_ms, 3)} ms) | ≥ ${TARGETS.latency_ratio} | ${goals.latency_ratio ? 'yes' : 'NO'} |`);
console.log('\n| stage | wall s (mean ± sd) |\n| --- | --- |');
for (const stage of STAGES) console.log(`| ${stage} | ${fmt(stageSeconds[stage], 1)} |`);

const out = path.resolve(REPO, args.out);
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ seeds: seedCount, overrides: args.set, runs, summary, stage_seconds: stageSeconds, targets: TARGETS, goals }, null, 2)}\n`);
console.log(`\nresults in ${path.relative(process.cwd(), out)}`);
