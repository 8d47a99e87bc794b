#!/usr/bin/env node
// `npm run bench:pipeline`: the engine's speed against its goals, on throw-away projects in the
// system temp directory (deleted afterwards).
//
//   (a) a no-op `kd-pipeline run` (everything up to date), Node start-up included, on a shell
//       pipeline with the same DAG, deps, params and outs as the repo's pipeline.yaml, and on the
//       default pipeline itself when a trained copy of it exists (--default-project DIR, or the
//       repo itself once `kd-pipeline run` has produced its pipeline.lock);
//   (b) the per-stage overhead of a first run of a 100-stage chain of trivial commands, with and
//       without the bare cost of spawning the same shell commands;
//   (c) hashing a 1 GB directory dep: `kd-pipeline status` without the state store (cold), then
//       with it (warm). "Cold" means no hash memo; the files are in the OS page cache.
//
// Options: --runs N (timed no-op runs, default 15), --chain N (default 100), --reps N (chain
// first runs, default 3), --hash-mb N (default 1024, 0 skips), --default-project DIR,
// --only a,b,c (sections). Needs a built CLI (`npx tsc -p tsconfig.json`).
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { GNU_TIME, stats, timed } from './timing.mjs';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const CLI = path.join(REPO, 'bin', 'kd-pipeline.js');
const GOALS = { noop: 0.2, perStageMs: 15, warmHash: 0.1 };

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '15' },
    chain: { type: 'string', default: '100' },
    reps: { type: 'string', default: '3' },
    'hash-mb': { type: 'string', default: '1024' },
    'default-project': { type: 'string' },
    only: { type: 'string', default: 'noop,chain,hash' },
  },
});
const RUNS = Number(opts.runs);
const CHAIN = Number(opts.chain);
const REPS = Number(opts.reps);
const HASH_MB = Number(opts['hash-mb']);
const ONLY = new Set(opts.only.split(','));

if (!existsSync(path.join(REPO, 'dist', 'lib', 'cli', 'main.js'))) {
  console.error('bench:pipeline: dist/ is missing; build first with `npx tsc -p tsconfig.json`');
  process.exit(2);
}

// No MLflow server: a run is journaled only, so the figures measure the engine, not the network.
const ENV = { ...process.env, MLFLOW_TRACKING_URI: '' };
const temps = [];
function tempDir(label) {
  const dir = mkdtempSync(path.join(os.tmpdir(), `kd-bench-${label}-`));
  temps.push(dir);
  return dir;
}
process.on('exit', () => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

/** Runs the CLI synchronously; returns wall seconds (spawn to exit, Node start-up included). */
function cli(cwd, args, { check = true } = {}) {
  const result = timed([process.execPath, CLI, ...args], { cwd, env: ENV, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (check && result.status !== 0) {
    throw new Error(`kd-pipeline ${args.join(' ')} in ${cwd} exited ${result.status}:\n${result.stderr.slice(-3000)}`);
  }
  return { seconds: result.seconds, cpu: result.cpu, stdout: result.stdout, stderr: result.stderr, status: result.status };
}

const sec = (x) => `${x.toFixed(3)} s`;
const ms = (x) => `${(x * 1000).toFixed(1)} ms`;
const rows = [];
function row(measure, value, goal = '', verdict = '') {
  rows.push([measure, value, goal, verdict]);
  console.error(`  ${measure}: ${value}`);
}
const verdict = (ok) => (ok ? 'meets goal' : 'MISSES goal');

/** Times `runs` no-op runs; fails loudly if any of them did anything. */
function timeNoop(dir, label) {
  cli(dir, ['run']); // warm-up: after a copy the state store re-stats every file once
  const samples = [];
  const cpus = [];
  for (let i = 0; i < RUNS; i++) {
    const { seconds, cpu, stdout } = cli(dir, ['run', '--json']);
    const ran = JSON.parse(stdout).stages.filter((s) => s.result !== 'skipped');
    if (ran.length > 0) throw new Error(`${label}: the no-op run did something: ${JSON.stringify(ran)}`);
    samples.push(seconds);
    cpus.push(cpu);
  }
  const s = stats(samples);
  row(`no-op run, ${label}: wall median (p90, min) of ${s.n}`, `${sec(s.median)} (${sec(s.p90)}, ${sec(s.min)})`, `< ${GOALS.noop} s`, verdict(s.median < GOALS.noop));
  if (GNU_TIME) row(`  CPU time (user+sys), median of ${s.n}`, sec(stats(cpus).median));
}

// ---------------------------------------------------------------------------------------------
// (a) no-op run

/** A shell command producing the outs of a stage: dirs with three small files, files otherwise. */
function fakeCommand(outs) {
  const parts = [];
  for (const out of outs) {
    if (path.extname(out)) parts.push(`mkdir -p ${path.dirname(out)} && echo '{"value": 1}' > ${out}`);
    else parts.push(`mkdir -p ${out} && for f in a b c; do echo "$f" > ${out}/$f.txt; done`);
  }
  return parts.join(' && ') || 'true';
}

const outPath = (entry) => (typeof entry === 'string' ? entry : Object.keys(entry)[0]);

function shellProjectLikeDefault() {
  const dir = tempDir('shape');
  const spec = parse(readFileSync(path.join(REPO, 'pipeline.yaml'), 'utf8'));
  for (const stage of Object.values(spec.stages)) {
    stage.cmd = fakeCommand([...(stage.outs ?? []), ...(stage.metrics ?? []), ...(stage.plots ?? [])].map(outPath));
  }
  writeFileSync(path.join(dir, 'pipeline.yaml'), stringify(spec));
  cpSync(path.join(REPO, 'params.yaml'), path.join(dir, 'params.yaml'));
  cpSync(path.join(REPO, 'data'), path.join(dir, 'data'), { recursive: true });
  cli(dir, ['run']);
  return { dir, stages: Object.keys(spec.stages).length };
}

async function defaultProject() {
  const source = opts['default-project'] ? path.resolve(opts['default-project']) : REPO;
  const { STAGES } = await import(path.join(REPO, 'dist', 'lib', 'cli', 'commands', 'stage.js'));
  const missing = STAGES.filter((s) => !existsSync(path.join(REPO, 'dist', 'stages', `${s}.js`)));
  if (missing.length > 0) return { skip: `the ML stages ${missing.join(', ')} are not built (dist/stages/)` };
  if (!existsSync(path.join(source, 'pipeline.lock'))) {
    return { skip: `${source} has no pipeline.lock: run \`kd-pipeline run\` there first, or pass --default-project DIR (a trained copy)` };
  }
  const dir = tempDir('default');
  for (const entry of ['pipeline.yaml', 'params.yaml', 'pipeline.lock', 'data', 'artifacts']) {
    if (existsSync(path.join(source, entry))) cpSync(path.join(source, entry), path.join(dir, entry), { recursive: true, preserveTimestamps: true });
  }
  const status = JSON.parse(cli(dir, ['status', '--json']).stdout).stages;
  const changed = status.filter((s) => !s.upToDate);
  if (changed.length > 0) return { skip: `the copy of ${source} is not up to date (${changed.map((s) => `${s.name}: ${s.reasons.join(', ')}`).join('; ')})` };
  return { dir, stages: status.length };
}

function nodeStartup() {
  const walls = [];
  const cpus = [];
  for (let i = 0; i < RUNS; i++) {
    const { seconds, cpu } = timed([process.execPath, '-e', '']);
    walls.push(seconds);
    cpus.push(cpu);
  }
  return { wall: stats(walls), cpu: stats(cpus) };
}

// ---------------------------------------------------------------------------------------------
// (b) 100-stage chain

const chainCmd = (i) => (i === 0 ? 'echo 0 > s0.txt' : `cat s${i - 1}.txt > s${i}.txt`);

function chainProject(n) {
  const dir = tempDir('chain');
  const stages = {};
  for (let i = 0; i < n; i++) stages[`s${i}`] = { cmd: chainCmd(i), deps: i === 0 ? [] : [`s${i - 1}.txt`], outs: [`s${i}.txt`] };
  writeFileSync(path.join(dir, 'pipeline.yaml'), stringify({ stages }));
  return dir;
}

/** The same n commands spawned one after another through a shell, as the executor does. */
async function bareSpawns(n) {
  const dir = tempDir('spawn');
  const began = performance.now();
  for (let i = 0; i < n; i++) {
    await new Promise((resolve, reject) => {
      spawn(chainCmd(i), { shell: true, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
        .on('error', reject)
        .on('close', resolve);
    });
  }
  return (performance.now() - began) / 1000;
}

// ---------------------------------------------------------------------------------------------
// (c) hashing

function bigDirProject(mb) {
  const dir = tempDir('hash');
  const big = path.join(dir, 'big');
  mkdirSync(big);
  const fileMb = 4;
  const buffer = Buffer.allocUnsafe(fileMb << 20);
  for (let i = 0; i < Math.ceil(mb / fileMb); i++) {
    randomFillSync(buffer);
    writeFileSync(path.join(big, `part-${String(i).padStart(4, '0')}.bin`), buffer);
  }
  writeFileSync(path.join(dir, 'pipeline.yaml'), stringify({ stages: { consume: { cmd: 'echo done > done.txt', deps: ['big'], outs: ['done.txt'] } } }));
  cli(dir, ['run']);
  return dir;
}

// ---------------------------------------------------------------------------------------------

console.error(`kd-pipeline bench on ${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.availableParallelism()}, Node ${process.version}`);

if (ONLY.has('noop')) {
  console.error('(a) no-op run');
  const node = nodeStartup();
  row(`bare Node start-up (node -e ''), wall median of ${node.wall.n}`, sec(node.wall.median));
  if (GNU_TIME) row(`  CPU time (user+sys), median of ${node.cpu.n}`, sec(node.cpu.median));
  const shaped = shellProjectLikeDefault();
  timeNoop(shaped.dir, `${shaped.stages}-stage shell pipeline shaped like pipeline.yaml`);
  const real = await defaultProject();
  if (real.skip) row('no-op run, default pipeline', `skipped: ${real.skip}`, `< ${GOALS.noop} s`);
  else timeNoop(real.dir, `default pipeline (${real.stages} stages)`);
}

if (ONLY.has('chain')) {
  console.error(`(b) first run of a ${CHAIN}-stage chain, ${REPS} times`);
  const walls = [];
  const cpus = [];
  for (let r = 0; r < REPS; r++) {
    const dir = chainProject(CHAIN);
    const { stdout, seconds, cpu } = cli(dir, ['run', '--json']);
    cpus.push(cpu);
    const ran = JSON.parse(stdout).stages.filter((s) => s.result === 'ran').length;
    if (ran !== CHAIN) throw new Error(`chain: ${ran} of ${CHAIN} stages ran`);
    walls.push(seconds);
    rmSync(dir, { recursive: true, force: true });
  }
  const spawns = [];
  for (let r = 0; r < REPS; r++) spawns.push(await bareSpawns(CHAIN));
  const wall = stats(walls).median;
  const bare = stats(spawns).median;
  row(`chain first run, wall (median of ${walls.length})`, sec(wall));
  row(`per stage: wall / ${CHAIN}`, ms(wall / CHAIN), `DVC ≈ 100 ms`);
  if (GNU_TIME) row(`  CPU time (user+sys) / ${CHAIN}, the stage commands' included`, ms(stats(cpus).median / CHAIN));
  row(`bare spawn of the same shell command (median of ${spawns.length})`, ms(bare / CHAIN));
  row('per stage: engine overhead (wall − bare spawns) / n', ms((wall - bare) / CHAIN), `< ${GOALS.perStageMs} ms`, verdict(((wall - bare) / CHAIN) * 1000 < GOALS.perStageMs));
}

if (ONLY.has('hash') && HASH_MB > 0) {
  console.error(`(c) hashing a ${HASH_MB} MB directory dep (generating it…)`);
  const dir = bigDirProject(HASH_MB);
  const cold = [];
  const warm = [];
  const warmCpu = [];
  for (let r = 0; r < REPS; r++) {
    rmSync(path.join(dir, '.kd', 'state.json'), { force: true });
    cold.push(cli(dir, ['status']).seconds);
    const w = cli(dir, ['status']);
    warm.push(w.seconds);
    warmCpu.push(w.cpu);
  }
  const c = stats(cold).median;
  const w = stats(warm).median;
  row(`status, no state store (cold), ${HASH_MB} MB, median of ${cold.length}`, `${sec(c)} = ${Math.round(HASH_MB / c)} MB/s`);
  row(`status, state store (warm), wall median of ${warm.length}`, sec(w), `< ${GOALS.warmHash} s`, verdict(w < GOALS.warmHash));
  if (GNU_TIME) row(`  CPU time (user+sys), median of ${warm.length}`, sec(stats(warmCpu).median));
}

const header = ['measure', 'result', 'goal', ''];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
