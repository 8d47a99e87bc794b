#!/usr/bin/env node
// npm run bench:distill [-- --seeds 3 --first-seed 45 --sizes tiny,small,base --against d163368 --set student.alpha=0.5 --keep --no-encoder-bench]
//
// For each of `--seeds` seeds (params.yaml's seed or `--first-seed`, +1, +2…; the seed drives the split, the
// initialisation, the shuffling and the augmentation): a fresh temp copy of this project as a clean
// clone has it after `npm install && npm run setup` (pipeline.yaml, params.yaml, pipeline.lock,
// data/, models/encoder; no .kd/ cache, so every stage really runs and every sentence is encoded),
// then `kd-pipeline run --json`, timed end to end, with the first of `--sizes`; then each further
// size in the same copy (only its transfer set and student stages rerun). Prints, per size, mean ± sd of teacher,
// student and baseline test accuracy, student ÷ teacher, the distillation gain, accuracy on test
// sentences with a word the training split never had, the parameter and p50-latency ratios,
// checked against the student-sizes issue's targets; the end-to-end wall time and each stage's
// time. `--against REV` also times the default pipeline of that git revision (code and params.yaml,
// built in a temp worktree) from a clean copy on the first seed, in the same bench run, for the
// wall-time target (≤ 0.9 × it). Then the encoder's throughput against Python onnxruntime (npm run
// bench:encoder). `--set key=value` overrides a params.yaml value (parsed as YAML) in the copies
// only. Needs `npm run setup`.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { applySets, CLI, failer, freshCopy, meanSd, readMetrics, REPO, repoParams, setParam, STAGES, timedRun as runIn } from './lib/project.mjs';

// Per size: the share of the teacher's mean accuracy to keep and the parameter ratio to beat.
const SIZE_TARGETS = { tiny: { of_teacher: 0.95, param_ratio: 100 }, small: { of_teacher: 0.97, param_ratio: 30 }, base: { of_teacher: 0.98, param_ratio: 10 } };
const TARGETS = { distillation_gain: 0.03, latency_ratio: 10, unseen_gap: 0.03, wall_vs_against: 0.9 };

const { values: args } = parseArgs({
  options: {
    seeds: { type: 'string', default: '3' },
    'first-seed': { type: 'string' },
    sizes: { type: 'string', default: 'tiny,small,base' },
    against: { type: 'string' },
    set: { type: 'string', multiple: true, default: [] },
    keep: { type: 'boolean', default: false },
    'no-encoder-bench': { type: 'boolean', default: false },
    out: { type: 'string', default: 'artifacts/bench/distill.json' },
  },
});

const fail = failer('distill');

/** params.yaml with the seed and every --set override applied. */
function params(seed) {
  const p = applySets(repoParams(), args.set, fail);
  p.seed = seed;
  return stringify(p);
}

const timedRun = (cli, root, what) => runIn(cli, root, what, fail);

function runSeed(seed) {
  const root = freshCopy(REPO, seed, params(seed));
  const results = {};
  for (const [i, size] of sizes.entries()) {
    setParam(root, ['student', 'size'], size);
    const run = timedRun(CLI, root, `seed ${seed}, size ${size}`);
    process.stderr.write(`  seed ${seed}, ${size}: ${run.wall.toFixed(1)} s${i === 0 ? ' end to end from a clean copy' : ' (its transfer set and student stages)'} (${STAGES.filter((s) => run.seconds[s] !== undefined).map((s) => `${s} ${run.seconds[s].toFixed(1)}`).join(', ')})\n`);
    const m = readMetrics(root);
    const shipped = fastestRuntime(m);
    process.stderr.write(
      `    teacher ${m['teacher.accuracy'].toFixed(4)}, student ${m['student.accuracy'].toFixed(4)}, baseline ${m['baseline.accuracy'].toFixed(4)}; ` +
        `unseen words: teacher ${m['teacher.accuracy_unseen_words']?.toFixed(4)}, student ${m['student.accuracy_unseen_words']?.toFixed(4)}; ${m['student.params']} params, p50 ${m['student.latency_p50_ms'].toFixed(3)} ms on tfjs, ${shipped.p50_ms.toFixed(3)} ms on ${shipped.runtime} vs ${m['teacher.latency_p50_ms'].toFixed(2)} ms\n`,
    );
    results[size] = {
      backend: run.backend,
      wall_seconds: run.wall,
      seconds: run.seconds,
      teacher_accuracy: m['teacher.accuracy'],
      student_accuracy: m['student.accuracy'],
      baseline_accuracy: m['baseline.accuracy'],
      distillation_gain: m['student.accuracy'] - m['baseline.accuracy'],
      student_over_teacher: m['student.accuracy'] / m['teacher.accuracy'],
      teacher_unseen: m['teacher.accuracy_unseen_words'],
      student_unseen: m['student.accuracy_unseen_words'],
      unseen_gap: m['teacher.accuracy_unseen_words'] - m['student.accuracy_unseen_words'],
      param_ratio: m['teacher.params'] / m['student.params'],
      latency_ratio: m['teacher.latency_p50_ms'] / shipped.p50_ms,
      latency_ratio_tfjs: m['teacher.latency_p50_ms'] / m['student.latency_p50_ms'],
      student_runtime: shipped.runtime,
      teacher_params: m['teacher.params'],
      student_params: m['student.params'],
      teacher_p50_ms: m['teacher.latency_p50_ms'],
      student_p50_ms: shipped.p50_ms,
      student_tfjs_p50_ms: m['student.latency_p50_ms'],
    };
  }
  if (!args.keep) rmSync(root, { recursive: true, force: true });
  return { seed, sizes: results, ...(args.keep ? { project: root } : {}) };
}

/**
 * The student's single-sentence p50 on the fastest runtime its export ships for (tfjs float32,
 * ONNX float32 or int8 on onnxruntime-node, as evaluate timed each), and which one that is.
 */
function fastestRuntime(m) {
  const runtimes = { tfjs: m['student.latency_p50_ms'], 'onnxruntime-node float32': m['student_onnx_float32.latency_p50_ms'], 'onnxruntime-node int8': m['student_onnx_int8.latency_p50_ms'] };
  const [runtime, p50_ms] = Object.entries(runtimes).filter(([, ms]) => ms !== undefined).sort((a, b) => a[1] - b[1])[0];
  return { runtime, p50_ms };
}

/** The default pipeline of git revision `rev` (its code, built in a temp worktree, and its params.yaml) from a clean copy. */
function runAgainst(rev, seed) {
  const tree = mkdtempSync(path.join(tmpdir(), 'kd-bench-against-'));
  const git = (...argv) => {
    const r = spawnSync('git', argv, { cwd: REPO, encoding: 'utf8' });
    if (r.status !== 0) fail(`--against ${rev}: git ${argv.join(' ')}: ${r.stderr.trim()}`);
  };
  git('worktree', 'add', '--detach', tree, rev);
  try {
    symlinkSync(path.join(REPO, 'node_modules'), path.join(tree, 'node_modules'));
    const build = spawnSync(path.join(REPO, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], { cwd: tree, encoding: 'utf8' });
    if (build.status !== 0) fail(`--against ${rev}: tsc failed:\n${build.stdout}${build.stderr}`);
    const p = parse(readFileSync(path.join(tree, 'params.yaml'), 'utf8'));
    p.seed = seed;
    const root = freshCopy(tree, seed, stringify(p));
    const run = timedRun(path.join(tree, 'bin/kd-pipeline.js'), root, `--against ${rev}`);
    const m = readMetrics(root);
    rmSync(root, { recursive: true, force: true });
    process.stderr.write(`  ${rev} (seed ${seed}): ${run.wall.toFixed(1)} s end to end from a clean copy; student ${m['student.accuracy'].toFixed(4)}, teacher ${m['teacher.accuracy'].toFixed(4)}\n`);
    return { rev, seed, wall_seconds: run.wall, seconds: run.seconds, student_accuracy: m['student.accuracy'], teacher_accuracy: m['teacher.accuracy'] };
  } finally {
    git('worktree', 'remove', '--force', tree);
  }
}

const seedCount = Number(args.seeds);
if (!Number.isInteger(seedCount) || seedCount < 1) fail(`--seeds ${args.seeds}: expected a positive integer`);
const sizes = args.sizes.split(',').map((size) => size.trim());
for (const size of sizes) if (!SIZE_TARGETS[size]) fail(`--sizes: unknown size "${size}" (tiny, small, base)`);
const base = args['first-seed'] === undefined ? parse(readFileSync(path.join(REPO, 'params.yaml'), 'utf8')).seed : Number(args['first-seed']);
if (!Number.isInteger(base)) fail(`--first-seed ${args['first-seed']}: expected an integer`);
const against = args.against ? runAgainst(args.against, base) : null;
const runs = Array.from({ length: seedCount }, (_, i) => runSeed(base + i));

const fmt = ({ mean, sd }, digits = 4) => `${mean.toFixed(digits)} ± ${sd.toFixed(digits)}`;
const met = (goal) => (goal ? 'yes' : 'NO');
const of = (size, key) => meanSd(runs.map((run) => run.sizes[size][key]));
const teacher = meanSd(runs.map((run) => run.sizes[sizes[0]].teacher_accuracy));
const summary = {};
const goals = {};
console.log(`\nbench:distill — ${seedCount} seed(s) from ${base} on ${[...new Set(runs.flatMap((run) => Object.values(run.sizes).map((r) => r.backend)))].join(', ')}${args.set.length ? `, overrides: ${args.set.join(' ')}` : ''}`);
console.log(`\nteacher test accuracy ${fmt(teacher)}`);
console.log('\n| size | student | baseline | student ÷ teacher mean (target) | student − baseline | unseen words: teacher − student | params ratio (target) | p50 latency ratio, fastest export runtime (target) | on tfjs |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const size of sizes) {
  const s = Object.fromEntries(['student_accuracy', 'baseline_accuracy', 'distillation_gain', 'teacher_unseen', 'student_unseen', 'unseen_gap', 'param_ratio', 'latency_ratio', 'latency_ratio_tfjs', 'student_params', 'student_p50_ms'].map((key) => [key, of(size, key)]));
  const share = s.student_accuracy.mean / teacher.mean;
  const target = SIZE_TARGETS[size];
  goals[size] = {
    of_teacher: share >= target.of_teacher,
    distillation_gain: s.distillation_gain.mean >= TARGETS.distillation_gain,
    param_ratio: s.param_ratio.mean >= target.param_ratio,
    latency_ratio: s.latency_ratio.mean >= TARGETS.latency_ratio,
    ...(size === 'tiny' ? { unseen_gap: s.unseen_gap.mean <= TARGETS.unseen_gap } : {}),
  };
  summary[size] = { ...s, of_teacher: share };
  const g = goals[size];
  console.log(
    `| ${size} | ${fmt(s.student_accuracy)} | ${fmt(s.baseline_accuracy)} | ${share.toFixed(4)} (≥ ${target.of_teacher}: ${met(g.of_teacher)}) | ${fmt(s.distillation_gain)} (${met(g.distillation_gain)}) | ` +
      `${fmt(s.unseen_gap)} (${fmt(s.teacher_unseen, 3)} vs ${fmt(s.student_unseen, 3)})${size === 'tiny' ? ` (≤ ${TARGETS.unseen_gap}: ${met(g.unseen_gap)})` : ''} | ` +
      `${fmt(s.param_ratio, 1)}× (${Math.round(s.student_params.mean).toLocaleString('en-US')} params; ≥ ${target.param_ratio}: ${met(g.param_ratio)}) | ${fmt(s.latency_ratio, 1)}× (${fmt(s.student_p50_ms, 3)} ms on ${[...new Set(runs.map((run) => run.sizes[size].student_runtime))].join(', ')}; ≥ ${TARGETS.latency_ratio}: ${met(g.latency_ratio)}) | ${fmt(s.latency_ratio_tfjs, 1)}× |`,
  );
}
const first = sizes[0];
const wall = meanSd(runs.map((run) => run.sizes[first].wall_seconds));
console.log(`\n| default pipeline (${first}) end to end, cold caches | ${fmt(wall, 1)} s |`);
if (against) {
  const ratio = runs[0].sizes[first].wall_seconds / against.wall_seconds;
  goals.wall_vs_against = ratio <= TARGETS.wall_vs_against;
  console.log(`| ${against.rev}'s default, same seed ${against.seed}, same bench run | ${against.wall_seconds.toFixed(1)} s: this one is ${ratio.toFixed(3)}× (≤ ${TARGETS.wall_vs_against}: ${met(goals.wall_vs_against)}) |`);
}
console.log('\n| stage (first size, from a clean copy) | wall s (mean ± sd) |\n| --- | --- |');
const stageSeconds = Object.fromEntries(STAGES.map((stage) => [stage, meanSd(runs.map((run) => run.sizes[first].seconds[stage] ?? 0))]));
for (const stage of STAGES) console.log(`| ${stage} | ${fmt(stageSeconds[stage], 1)} |`);

const out = path.resolve(REPO, args.out);
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ seeds: seedCount, sizes, overrides: args.set, runs, against, teacher, summary, stage_seconds: stageSeconds, targets: { sizes: SIZE_TARGETS, ...TARGETS }, goals }, null, 2)}\n`);
console.log(`\nresults in ${path.relative(process.cwd(), out)}`);

if (!args['no-encoder-bench']) {
  const encoder = spawnSync('node', [path.join(REPO, 'bench/encoder.mjs')], { stdio: 'inherit' });
  if (encoder.status !== 0) fail('bench/encoder.mjs failed');
}
