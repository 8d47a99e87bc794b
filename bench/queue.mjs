#!/usr/bin/env node
// `npm run bench:queue`: a 2×2 sweep over student keys (student.temperature × student.alpha) on
// the default pipeline, run (a) here with `exp run --jobs 2` and (b) through the queue: enqueued
// with `exp run --queue` and run by two `kd-pipeline worker`s in two fresh clones on this machine,
// with moto's S3 server as the remote and a throw-away redis-server as the queue. One machine
// cannot show a speed-up, only what the queue costs: goal (b) ≤ 1.15× (a). Reported per trial: the
// seconds outside the stages it ran (restores, pulls, pushes, the engine) on either side, and the
// queue's cost, (b) − (a) over the number of trials.
//
// Both sides start from the same point: a project that has run the default pipeline once and
// pushed it (not measured), so every trial runs the stages the keys reach; (a) is a copy with its
// .kd/ (the local cache has everything), (b)'s workers are fresh clones that restore what they
// need from the remote. `--rounds N` repeats the pair, alternating the order (a b, b a, …) and
// giving each round its own bucket and queue, so that a machine whose load drifts favours neither
// side; the goal is judged on the sums. Options: --tiny (small models and epochs: a smoke test, not
// the figures), --rounds 1, --keep. Needs `npm run build`, models/encoder, moto
// (`node scripts/test-env.mjs`) and redis-server.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parse, parseDocument } from 'yaml';
import { CLI, failer, REPO, TINY } from './lib/project.mjs';

const fail = failer('queue');
const GOAL = 1.15;
const GRID = ['-S', 'student.temperature=2,4', '-S', 'student.alpha=0.3,0.7'];
const ENCODER = path.join(REPO, 'models', 'encoder');
const MOTO = path.join(REPO, '.venv', 'bin', 'moto_server');

const { values: opts } = parseArgs({ options: { tiny: { type: 'boolean', default: false }, rounds: { type: 'string', default: '1' }, keep: { type: 'boolean', default: false } } });
const ROUNDS = Number(opts.rounds);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) fail(`--rounds: expected a whole number ≥ 1, got ${opts.rounds}`);
if (!existsSync(path.join(REPO, 'dist', 'lib', 'cli', 'main.js'))) fail('dist/ is missing; build first with `npm run build`');
if (!existsSync(path.join(ENCODER, 'config.json'))) fail('models/encoder is missing; fetch it with `npm run setup`');
if (!existsSync(MOTO)) fail('moto is not installed: run `node scripts/test-env.mjs`');
if (spawnSync('redis-server', ['--version']).error) fail('redis-server is not installed (`apt-get install -y redis-server`)');

const temps = [];
const servers = [];
process.on('exit', () => {
  for (const server of servers) server.kill('SIGTERM');
  if (!opts.keep) for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

const freePort = () => new Promise((resolve) => {
  const server = createServer().listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    server.close(() => resolve(port));
  });
});

const motoPort = await freePort();
const endpoint = `http://127.0.0.1:${motoPort}`;
servers.push(spawn(MOTO, ['-H', '127.0.0.1', '-p', String(motoPort)], { stdio: 'ignore' }));
const redisPort = await freePort();
servers.push(spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' }));
for (let i = 0; !(await fetch(`${endpoint}/moto-api/`).then(() => true, () => false)); i++) {
  if (i > 300) fail('moto_server did not start');
  await new Promise((r) => setTimeout(r, 200));
}

// No MLflow server: runs are journaled only. Fake credentials, nothing from ~/.aws.
const ENV = {
  ...process.env,
  MLFLOW_TRACKING_URI: '',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_ENDPOINT_URL: endpoint,
  AWS_REGION: 'us-east-1',
  AWS_CONFIG_FILE: '/nonexistent',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
  AWS_EC2_METADATA_DISABLED: 'true',
};

function cli(cwd, args) {
  const began = performance.now();
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd, env: ENV, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (result.status !== 0) fail(`kd-pipeline ${args.join(' ')} in ${cwd} failed (exit ${result.status}):\n${result.stderr.slice(-4000)}`);
  return { seconds: (performance.now() - began) / 1000, stdout: result.stdout };
}

/** Runs the CLI in the background; resolves with its stderr once it exits 0. */
function spawnCli(cwd, args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: ENV, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-8000)));
    child.on('exit', (code) => (code === 0 ? resolve(stderr) : fail(`kd-pipeline ${args.join(' ')} in ${cwd} failed (exit ${code}):\n${stderr}`)));
  });
}

function tempDir(label) {
  const dir = mkdtempSync(path.join(os.tmpdir(), `kd-bench-queue-${label}-`));
  temps.push(dir);
  return dir;
}

/** What a git clone holds: pipeline.yaml, params.yaml (encoder from the repo; --tiny settings), data/, .kdconfig.yaml, pipeline.lock. */
function cloneFrom(source, label) {
  const dir = tempDir(label);
  for (const file of ['pipeline.yaml', 'params.yaml', '.kdconfig.yaml', 'pipeline.lock']) if (existsSync(path.join(source, file))) cpSync(path.join(source, file), path.join(dir, file));
  cpSync(path.join(source, 'data'), path.join(dir, 'data'), { recursive: true });
  return dir;
}

/** Per trial: wall seconds and the seconds of the stages it ran, from the tracking journals of `dirs`. */
function trialTimes(rows, dirs, sweep) {
  const ran = new Map();
  for (const dir of dirs) {
    const journal = path.join(dir, '.kd', 'tracking', 'journal.jsonl');
    if (!existsSync(journal)) continue; // a worker that ran no trial
    const events = readFileSync(journal, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    const trialOfRun = new Map(events.filter((e) => e.event === 'runStarted' && e.info.tags?.['kd.trial']?.startsWith(`${sweep}.`)).map((e) => [e.info.runId, e.info.tags['kd.trial']]));
    for (const e of events) {
      const trial = trialOfRun.get(e.info.runId);
      if (trial && e.event === 'stageFinished' && e.info.result === 'ran') ran.set(trial, (ran.get(trial) ?? 0) + e.info.seconds);
    }
  }
  return rows.map((row) => ({ id: row.id, wall: row.seconds, stages: ran.get(row.id) ?? 0, status: row.status }));
}
const rowsOf = (dir, sweep) => JSON.parse(cli(dir, ['exp', 'show', sweep, '--json']).stdout).experiments.filter((r) => r.id !== 'workspace');
const fmt = (s) => `${s.toFixed(1)} s`;
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

console.log(`bench:queue: 2×2 sweep student.temperature × student.alpha on the default pipeline${opts.tiny ? ' (--tiny settings: a smoke test, not the figures)' : ''}; ${os.availableParallelism()} cores, load ${os.loadavg()[0].toFixed(1)}`);

// The common starting point (not measured): the default pipeline run once and pushed.
const base = tempDir('base');
cpSync(path.join(REPO, 'pipeline.yaml'), path.join(base, 'pipeline.yaml'));
cpSync(path.join(REPO, 'data'), path.join(base, 'data'), { recursive: true });
const doc = parseDocument(readFileSync(path.join(REPO, 'params.yaml'), 'utf8'));
for (const assignment of [`teacher.transformer.model=${ENCODER}`, ...(opts.tiny ? TINY : [])]) {
  const eq = assignment.indexOf('=');
  doc.setIn(assignment.slice(0, eq).split('.'), parse(assignment.slice(eq + 1)));
}
writeFileSync(path.join(base, 'params.yaml'), doc.toString());
cli(base, ['remote', 'add', 'origin', 's3://bench-0/cache']);
await fetch(`${endpoint}/bench-0`, { method: 'PUT' });
const first = cli(base, ['run']).seconds;
console.log(`starting point: the full run ${fmt(first)}`);

/** A copy of the starting point whose remote is a bucket of its own, holding what the starting point computed. */
async function startingPoint(round) {
  const dir = tempDir(`round${round}`);
  cpSync(base, dir, { recursive: true });
  await fetch(`${endpoint}/bench-${round}`, { method: 'PUT' });
  cli(dir, ['remote', 'add', 'origin', `s3://bench-${round}/cache`, '--force']);
  cli(dir, ['push']);
  return dir;
}

/** (a) here: a copy with its .kd/ and outputs. */
function runLocal(start) {
  const local = tempDir('local');
  cpSync(start, local, { recursive: true });
  const wall = cli(local, ['exp', 'run', ...GRID, '--jobs', '2', '--name', 'grid']).seconds;
  return { wall, times: trialTimes(rowsOf(local, 'grid'), [local], 'grid') };
}

/** (b) the queue: the enqueuing clone is a copy like (a)'s; the workers are fresh clones. */
async function runQueue(start, round) {
  const queue = `redis://127.0.0.1:${redisPort}/${round}`;
  const home = tempDir('home');
  cpSync(start, home, { recursive: true });
  const workers = [cloneFrom(start, 'worker-a'), cloneFrom(start, 'worker-b')];
  const began = performance.now();
  const enqueue = cli(home, ['exp', 'run', ...GRID, '--queue', queue, '--name', 'grid']).seconds;
  const logs = await Promise.all(workers.map((dir) => spawnCli(dir, ['worker', queue, '--once'])));
  const wall = (performance.now() - began) / 1000;
  const rows = rowsOf(home, 'grid');
  if (rows.some((r) => r.status !== 'ok')) fail('a queued trial failed');
  for (const [i, log] of logs.entries()) console.log(`  worker ${'ab'[i]}: ${log.split('\n').filter((line) => /^[▶✔✖↩■]/.test(line)).join(' | ')}`);
  return { wall, enqueue, times: trialTimes(rows, workers, 'grid') };
}

const outside = (times) => times.map((t) => t.wall - t.stages);
const rounds = [];
for (let round = 1; round <= ROUNDS; round++) {
  const start = await startingPoint(round);
  const order = round % 2 === 1 ? ['a', 'b'] : ['b', 'a'];
  const result = { load: os.loadavg()[0] };
  for (const side of order) result[side] = side === 'a' ? runLocal(start) : await runQueue(start, round);
  if (result.a.times.some((t) => t.status !== 'ok')) fail('a local trial failed');
  rounds.push(result);
  const { a, b } = result;
  console.log(`round ${round} (${order.join(' then ')}; load ${result.load.toFixed(1)} → ${os.loadavg()[0].toFixed(1)}): (a) exp run --jobs 2 here ${fmt(a.wall)}; (b) exp run --queue + two workers in fresh clones ${fmt(b.wall)} (the enqueue, its push included: ${fmt(b.enqueue)}) = ${(b.wall / a.wall).toFixed(2)}×`);
  console.log(`  per trial outside the stages it ran (restores, pulls and pushes, the engine): here mean ${mean(outside(a.times)).toFixed(2)} s, on a worker mean ${mean(outside(b.times)).toFixed(2)} s`);
  for (const [label, times] of [['here', a.times], ['queue', b.times]]) for (const t of times) console.log(`    ${label} ${t.id}: ${fmt(t.wall)} wall, ${fmt(t.stages)} in stages that ran`);
}
const sum = (side) => rounds.reduce((total, r) => total + r[side].wall, 0);
const ratio = sum('b') / sum('a');
const trials = rounds.reduce((n, r) => n + r.b.times.length, 0);
console.log(`(b) ÷ (a) over ${ROUNDS} round${ROUNDS === 1 ? '' : 's'}: ${fmt(sum('b'))} ÷ ${fmt(sum('a'))} = ${ratio.toFixed(2)}× (goal ≤ ${GOAL}×: ${ratio <= GOAL ? 'met' : 'MISSED'})`);
console.log(`the queue's cost per trial, (b) − (a) over ${trials} trials: ${((sum('b') - sum('a')) / trials).toFixed(2)} s`);
if (opts.keep) console.log(`projects kept: ${temps.join(' ')}`);
process.exit(0);
