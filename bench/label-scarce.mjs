#!/usr/bin/env node
// npm run bench:label-scarce [-- --seeds 3 --fraction 0.1 --set key=value --keep]
//
// What labels are worth, and what unlabelled text buys (issue 18). For each of `--seeds` seeds
// (params.yaml's seed, +1, +2…): a fresh temp copy of this project as a clean clone has it
// (bench/lib/project.mjs), then `kd-pipeline run` with data.label_fraction = `--fraction`: the
// teacher and the baseline learn from that stratified share of the training labels, and the
// student from the teacher's labels on the whole training split (the rest as unlabelled text),
// its augmented copies and the vocabulary words. Then the same copy with data.label_fraction 1
// (every label; the embedding cache already holds the sentences). Prints teacher, student and
// baseline test accuracy, mean ± sd, for both, checked against the issue's targets at the
// fraction: student ≥ baseline + 0.05 and ≥ 0.95 × teacher. Needs `npm run setup`.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { applySets, CLI, failer, freshCopy, meanSd, readMetrics, REPO, repoParams, setParam, timedRun as runIn } from './lib/project.mjs';

const TARGETS = { over_baseline: 0.05, of_teacher: 0.95 };

const { values: args } = parseArgs({
  options: {
    seeds: { type: 'string', default: '3' },
    fraction: { type: 'string', default: '0.1' },
    set: { type: 'string', multiple: true, default: [] },
    keep: { type: 'boolean', default: false },
    out: { type: 'string', default: 'artifacts/bench/label-scarce.json' },
  },
});

const fail = failer('label-scarce');
const fraction = Number(args.fraction);
if (!(fraction > 0 && fraction < 1)) fail(`--fraction ${args.fraction}: expected a share of the labels between 0 and 1`);
const seedCount = Number(args.seeds);
if (!Number.isInteger(seedCount) || seedCount < 1) fail(`--seeds ${args.seeds}: expected a positive integer`);

function runSeed(seed) {
  const p = applySets(repoParams(), args.set, fail);
  p.seed = seed;
  const root = freshCopy(REPO, seed, stringify(p));
  const results = {};
  for (const share of [fraction, 1]) {
    setParam(root, ['data', 'label_fraction'], share);
    const run = runIn(CLI, root, `seed ${seed}, label_fraction ${share}`, fail);
    const m = readMetrics(root);
    results[share === 1 ? 'all' : 'scarce'] = {
      label_fraction: share,
      wall_seconds: run.wall,
      teacher_accuracy: m['teacher.accuracy'],
      student_accuracy: m['student.accuracy'],
      baseline_accuracy: m['baseline.accuracy'],
      over_baseline: m['student.accuracy'] - m['baseline.accuracy'],
      of_teacher: m['student.accuracy'] / m['teacher.accuracy'],
      labelled: m['transfer.labelled'],
      unlabelled: m['transfer.unlabelled'],
      augmented: m['transfer.augmented'],
      words: m['transfer.words'],
      teacher_agreement: m['transfer.teacher_agreement'],
    };
    const r = results[share === 1 ? 'all' : 'scarce'];
    process.stderr.write(
      `  seed ${seed}, label_fraction ${share}: ${run.wall.toFixed(1)} s; teacher ${r.teacher_accuracy.toFixed(4)}, student ${r.student_accuracy.toFixed(4)}, baseline ${r.baseline_accuracy.toFixed(4)} ` +
        `(transfer set: ${r.labelled} labelled, ${r.unlabelled} unlabelled, ${r.augmented} augmented, ${r.words} words)\n`,
    );
  }
  if (!args.keep) rmSync(root, { recursive: true, force: true });
  return { seed, ...results, ...(args.keep ? { project: root } : {}) };
}

const base = repoParams().seed;
const runs = Array.from({ length: seedCount }, (_, i) => runSeed(base + i));

const fmt = ({ mean, sd }) => `${mean.toFixed(4)} ± ${sd.toFixed(4)}`;
const met = (goal) => (goal ? 'yes' : 'NO');
const summary = {};
for (const part of ['scarce', 'all']) {
  summary[part] = Object.fromEntries(
    ['teacher_accuracy', 'student_accuracy', 'baseline_accuracy', 'over_baseline', 'of_teacher', 'labelled', 'unlabelled', 'augmented', 'words', 'teacher_agreement'].map((key) => [key, meanSd(runs.map((run) => run[part][key]))]),
  );
}
const s = summary.scarce;
const goals = { over_baseline: s.over_baseline.mean >= TARGETS.over_baseline, of_teacher: s.student_accuracy.mean / s.teacher_accuracy.mean >= TARGETS.of_teacher };

console.log(`\nbench:label-scarce — ${seedCount} seed(s) from ${base}, the embedded data set${args.set.length ? `, overrides: ${args.set.join(' ')}` : ''}`);
console.log('\n| labels | teacher | student | baseline | student − baseline | student ÷ teacher | transfer set: labelled + unlabelled + augmented + words |\n| --- | --- | --- | --- | --- | --- | --- |');
for (const part of ['scarce', 'all']) {
  const t = summary[part];
  const share = t.student_accuracy.mean / t.teacher_accuracy.mean;
  const checks = part === 'scarce' ? [` (≥ ${TARGETS.over_baseline}: ${met(goals.over_baseline)})`, ` (≥ ${TARGETS.of_teacher}: ${met(goals.of_teacher)})`] : ['', ''];
  console.log(
    `| ${part === 'scarce' ? `${fraction * 100} %` : '100 %'} (${Math.round(t.labelled.mean)}) | ${fmt(t.teacher_accuracy)} | ${fmt(t.student_accuracy)} | ${fmt(t.baseline_accuracy)} | ${fmt(t.over_baseline)}${checks[0]} | ${share.toFixed(4)}${checks[1]} | ` +
      `${Math.round(t.labelled.mean)} + ${Math.round(t.unlabelled.mean)} + ${Math.round(t.augmented.mean)} + ${Math.round(t.words.mean)} |`,
  );
}
console.log(`\nteacher agreement with the labels it had: ${fmt(summary.scarce.teacher_agreement)} at ${fraction * 100} %, ${fmt(summary.all.teacher_agreement)} at 100 %`);

const out = path.resolve(REPO, args.out);
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ seeds: seedCount, fraction, overrides: args.set, runs, summary, targets: TARGETS, goals }, null, 2)}\n`);
console.log(`\nresults in ${path.relative(process.cwd(), out)}`);
