#!/usr/bin/env node
// `npm run bench:sweep`: a 3×3 grid over student.temperature × student.alpha on the default
// pipeline, against its goals:
//   (a) wall time of `exp run --jobs 1` in a fresh copy of the project against the ideal: one full
//       run plus eight runs of the stages the two keys reach (both measured in another copy: a
//       first `kd-pipeline run`, then `run -S` of a temperature outside the grid); goal ≤ 1.15×;
//   (b) `--jobs 2` against `--jobs 1` (each in a fresh copy); goal ≥ 1.3× faster;
//   (c) overhead per trial outside the stages it ran (its wall time minus the seconds of its
//       stages that ran, from the tracking journal; restoring outputs counts as overhead); goal ≤ 0.5 s.
// Every copy gets the repo's pipeline.yaml, params.yaml and data/, and the encoder from the repo's
// models/encoder (teacher.transformer.model points there, as `npm run setup` leaves it).
//
// Options: --tiny (small models and epochs: a smoke test of the benchmark, not its figures),
// --keep (leave the temp projects). Needs a built CLI (`npm run build`) and models/encoder.
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parse, parseDocument } from 'yaml';
import { CLI, REPO, TINY } from './lib/project.mjs';

const ENCODER = path.join(REPO, 'models', 'encoder');
const GOALS = { ratio: 1.15, speedup: 1.3, overhead: 0.5 };
const GRID = ['-S', 'student.temperature=2,4,8', '-S', 'student.alpha=0.3,0.5,0.7'];
/** A temperature outside the grid: a run of exactly the stages the swept keys reach. */
const REACH = ['--set', 'student.temperature=3'];

const { values: opts } = parseArgs({ options: { tiny: { type: 'boolean', default: false }, keep: { type: 'boolean', default: false } } });
if (!existsSync(path.join(REPO, 'dist', 'lib', 'cli', 'main.js'))) {
  console.error('bench:sweep: dist/ is missing; build first with `npm run build`');
  process.exit(2);
}
if (!existsSync(path.join(ENCODER, 'config.json'))) {
  console.error('bench:sweep: models/encoder is missing; fetch it with `npm run setup`');
  process.exit(2);
}

// No MLflow server: runs are journaled only, so the figures measure the engine and the stages.
const ENV = { ...process.env, MLFLOW_TRACKING_URI: '' };
const temps = [];
process.on('exit', () => {
  if (!opts.keep) for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

function cli(cwd, args) {
  const began = performance.now();
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd, env: ENV, encoding: 'utf8', maxBuffer: 1 << 28 });
  const seconds = (performance.now() - began) / 1000;
  if (result.status !== 0) {
    console.error(`bench:sweep: kd-pipeline ${args.join(' ')} failed (exit ${result.status}):\n${result.stderr.slice(-4000)}`);
    process.exit(1);
  }
  return { seconds, stdout: result.stdout };
}

/** A fresh copy of the project: pipeline.yaml, params.yaml (encoder from the repo; --tiny settings), data/. */
function freshProject(label) {
  const dir = mkdtempSync(path.join(os.tmpdir(), `kd-bench-sweep-${label}-`));
  temps.push(dir);
  copyFileSync(path.join(REPO, 'pipeline.yaml'), path.join(dir, 'pipeline.yaml'));
  cpSync(path.join(REPO, 'data'), path.join(dir, 'data'), { recursive: true });
  const doc = parseDocument(readFileSync(path.join(REPO, 'params.yaml'), 'utf8'));
  for (const assignment of [`teacher.transformer.model=${ENCODER}`, ...(opts.tiny ? TINY : [])]) {
    const eq = assignment.indexOf('=');
    doc.setIn(assignment.slice(0, eq).split('.'), parse(assignment.slice(eq + 1)));
  }
  writeFileSync(path.join(dir, 'params.yaml'), doc.toString());
  return dir;
}

/** Per trial of the sweep: wall seconds, and the seconds of the stages it ran (from the tracking journal). */
function trialTimes(dir, sweep) {
  const events = readFileSync(path.join(dir, '.kd', 'tracking', 'journal.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
  const trialOfRun = new Map(events.filter((e) => e.event === 'runStarted' && e.info.tags?.['kd.sweep'] === sweep && e.info.tags['kd.trial']).map((e) => [e.info.runId, e.info.tags['kd.trial']]));
  const ran = new Map();
  for (const e of events) {
    const trial = trialOfRun.get(e.info.runId);
    if (trial && e.event === 'stageFinished' && e.info.result === 'ran') ran.set(trial, (ran.get(trial) ?? 0) + e.info.seconds);
  }
  const rows = JSON.parse(cli(dir, ['exp', 'show', sweep, '--json']).stdout).experiments.slice(1);
  return rows.map((row) => ({ id: row.id, wall: row.seconds, stages: ran.get(row.id) ?? 0 }));
}

const fmt = (s) => `${s.toFixed(1)} s`;
const mark = (ok) => (ok ? 'met' : 'MISSED');

console.log(`bench:sweep: 3×3 grid student.temperature × student.alpha on the default pipeline${opts.tiny ? ' (--tiny settings: a smoke test, not the figures)' : ''}; ${os.availableParallelism()} cores`);

// The ideal: one full run, then one run of what the swept keys reach.
const ideal = freshProject('ideal');
const full = cli(ideal, ['run']).seconds;
const reach = cli(ideal, ['run', ...REACH]).seconds;
const idealSeconds = full + 8 * reach;
console.log(`first full run ${fmt(full)}; one run of the stages the keys reach ${fmt(reach)}; ideal sweep ${fmt(idealSeconds)} (full + 8 × reach)`);

const serial = freshProject('jobs1');
const jobs1 = cli(serial, ['exp', 'run', ...GRID, '--name', 'grid', '--jobs', '1']).seconds;
const ratio = jobs1 / idealSeconds;
console.log(`(a) exp run --jobs 1: ${fmt(jobs1)} = ${ratio.toFixed(2)}× the ideal (goal ≤ ${GOALS.ratio}×: ${mark(ratio <= GOALS.ratio)})`);

const parallel = freshProject('jobs2');
const jobs2 = cli(parallel, ['exp', 'run', ...GRID, '--name', 'grid', '--jobs', '2']).seconds;
const speedup = jobs1 / jobs2;
console.log(`(b) exp run --jobs 2: ${fmt(jobs2)}, ${speedup.toFixed(2)}× faster than --jobs 1 (goal ≥ ${GOALS.speedup}×: ${mark(speedup >= GOALS.speedup)})`);

const times = trialTimes(serial, 'grid');
const overheads = times.map((t) => t.wall - t.stages);
const worst = Math.max(...overheads);
const mean = overheads.reduce((a, b) => a + b, 0) / overheads.length;
console.log(`(c) overhead per trial outside its stages (--jobs 1): mean ${mean.toFixed(2)} s, worst ${worst.toFixed(2)} s (goal ≤ ${GOALS.overhead} s: ${mark(worst <= GOALS.overhead)})`);
for (const t of times) console.log(`    ${t.id}: ${fmt(t.wall)} wall, ${fmt(t.stages)} in stages that ran`);
if (opts.keep) console.log(`projects kept: ${temps.join(' ')}`);
