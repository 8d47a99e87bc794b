#!/usr/bin/env node
// `npm run bench:remote`: the remote cache against its goals, on throw-away projects in the system
// temp directory and moto's S3 server on 127.0.0.1 (from .venv: `node scripts/test-env.mjs`).
//
//   (a) a fresh clone of the default pipeline: `run --pull` against a full `run` (goal ≥ 10×).
//       A is a copy of the repository's tracked files without pipeline.lock: `run`, then `push`;
//       B is the same copy plus A's pipeline.lock and remote config: `run --pull`, then
//       `status --check` must pass. Whatever stages pipeline.yaml has, all must be restored.
//   (b) push and pull throughput of a directory of mixed file sizes (1 GiB: 4 × 64 MiB,
//       32 × 8 MiB, 512 × 512 KiB, 4096 × 64 KiB, random bytes), kd-pipeline against DVC 3
//       (`dvc push`/`dvc pull` to the same server, same files; DVC from PyPI into .venv/dvc,
//       installed on first use). Both pulls are into a fresh clone and include the checkout.
//
// Options: --only a,b; --mb N (size of (b), default 1024); --jobs N (both tools; default: each
// tool's own default). Disk: (b) needs about 8 × N MB of temp space at its peak; everything is
// deleted as soon as it is no longer needed, and at exit.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const CLI = path.join(REPO, 'bin', 'kd-pipeline.js');
const DVC_VERSION = '3.67.1';
const { values: opts } = parseArgs({ options: { only: { type: 'string', default: 'a,b' }, mb: { type: 'string', default: '1024' }, jobs: { type: 'string' } } });
const ONLY = new Set(opts.only.split(','));

if (!existsSync(path.join(REPO, 'dist', 'lib', 'cli', 'main.js'))) {
  console.error('bench:remote: dist/ is missing; build first with `npm run build`');
  process.exit(2);
}
const MOTO = path.join(REPO, '.venv', 'bin', 'moto_server');
if (!existsSync(MOTO)) {
  console.error('bench:remote: moto is not installed: run `node scripts/test-env.mjs`');
  process.exit(2);
}

const temps = [];
function tempDir(label) {
  const dir = mkdtempSync(path.join(os.tmpdir(), `kd-bench-remote-${label}-`));
  temps.push(dir);
  return dir;
}
const drop = (dir) => rmSync(dir, { recursive: true, force: true });
let moto;
process.on('exit', () => {
  moto?.kill('SIGTERM');
  for (const dir of temps) drop(dir);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

async function freePort() {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// moto on loopback; fake credentials; nothing from ~/.aws; no instance-metadata look-ups.
const port = await freePort();
const endpoint = `http://127.0.0.1:${port}`;
moto = spawn(MOTO, ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
for (let i = 0; !(await fetch(`${endpoint}/moto-api/`).then(() => true, () => false)); i++) {
  if (i > 300) throw new Error('moto_server did not start');
  await new Promise((r) => setTimeout(r, 200));
}
const AWS = { AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench', AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: endpoint, AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent' };
const ENV = { ...process.env, ...AWS, MLFLOW_TRACKING_URI: '' };
const s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
const bucket = async (name) => s3.send(new CreateBucketCommand({ Bucket: name }));

const START = performance.now();
/** Runs a command; returns wall seconds and stdout; throws with its stderr if it fails. */
function timed(cmd, args, cwd) {
  console.error(`  [${((performance.now() - START) / 1000).toFixed(0)} s] ${path.basename(cmd)} ${args.filter((a) => a !== CLI).join(' ')}`);
  const began = performance.now();
  const r = spawnSync(cmd, args, { cwd, env: ENV, encoding: 'utf8', maxBuffer: 256 << 20 });
  const seconds = (performance.now() - began) / 1000;
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${args.join(' ')} in ${cwd} exited ${r.status}:\n${(r.stderr ?? '').slice(-3000)}`);
  return { seconds, stdout: r.stdout };
}
const kd = (cwd, ...args) => timed(process.execPath, [CLI, ...args], cwd);
const jobsArgs = opts.jobs ? ['--jobs', opts.jobs] : [];

const rows = [];
function row(measure, value, goal = '', verdict = '') {
  rows.push([measure, value, goal, verdict]);
  console.error(`  ${measure}: ${value}${verdict ? ` (${verdict})` : ''}`);
}
const sec = (x) => `${x.toFixed(2)} s`;

// ---------------------------------------------------------------------------------------------
// (a) fresh clone of the default pipeline

/** The repository's tracked files (as in the working tree), without its lock and remote config. */
function copyProject(into) {
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: REPO, encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const file of files) {
    if (file === 'pipeline.lock' || file === '.kdconfig.yaml' || !existsSync(path.join(REPO, file))) continue;
    mkdirSync(path.dirname(path.join(into, file)), { recursive: true });
    cpSync(path.join(REPO, file), path.join(into, file));
  }
}

if (ONLY.has('a')) {
  console.error('bench:remote (a): the default pipeline, full run vs fresh clone with run --pull');
  await bucket('bench-default');
  const a = tempDir('a');
  copyProject(a);
  kd(a, 'remote', 'add', 'origin', 's3://bench-default/kd');
  const full = kd(a, 'run', '--json');
  const fullStages = JSON.parse(full.stdout).stages;
  if (!fullStages.every((s) => s.result === 'ran')) throw new Error(`the full run did not run every stage: ${JSON.stringify(fullStages)}`);
  const push = kd(a, 'push', '--json');
  const pushed = JSON.parse(push.stdout);
  const b = tempDir('b');
  copyProject(b);
  for (const file of ['pipeline.lock', '.kdconfig.yaml']) cpSync(path.join(a, file), path.join(b, file));
  drop(a);
  const pull = kd(b, 'run', '--pull', '--json');
  const pulled = JSON.parse(pull.stdout).stages;
  if (!pulled.every((s) => s.result === 'restored')) throw new Error(`run --pull did not restore every stage: ${JSON.stringify(pulled)}`);
  kd(b, 'status', '--check');
  drop(b);
  const speedup = full.seconds / pull.seconds;
  row(`full \`run\` of the default pipeline (${fullStages.length} stages: ${fullStages.map((s) => s.name).join(', ')})`, sec(full.seconds));
  row(`\`push\` of its outputs and run-cache (${pushed.pushed} objects, ${(pushed.bytes / 1e6).toFixed(1)} MB)`, sec(push.seconds));
  row('fresh clone: `run --pull` (every stage restored), Node start-up included', sec(pull.seconds));
  row('speed-up of `run --pull` over a full run', `${speedup.toFixed(1)}×`, '≥ 10×', speedup >= 10 ? 'meets goal' : 'MISSES goal');
}

// ---------------------------------------------------------------------------------------------
// (b) push/pull throughput against DVC

function installDvc() {
  const venv = path.join(REPO, '.venv', 'dvc');
  const dvc = path.join(venv, 'bin', 'dvc');
  const version = existsSync(dvc) ? spawnSync(dvc, ['--version'], { encoding: 'utf8' }).stdout.trim() : '';
  if (version !== DVC_VERSION) {
    console.error(`bench:remote: installing dvc[s3]==${DVC_VERSION} into ${venv}`);
    if (!existsSync(path.join(venv, 'bin', 'pip'))) execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
    execFileSync(path.join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `dvc[s3]==${DVC_VERSION}`], { stdio: 'inherit' });
  }
  return dvc;
}

if (ONLY.has('b')) {
  const MB = Number(opts.mb);
  console.error(`bench:remote (b): push/pull of a ${MB} MiB directory of mixed file sizes, kd-pipeline vs DVC ${DVC_VERSION}`);
  const dvc = installDvc();
  const bytes = MB * 1024 * 1024;
  const rate = (seconds) => `${sec(seconds)} = ${(bytes / 1e6 / seconds).toFixed(0)} MB/s`;
  const gen = path.join(REPO, 'bench', 'gen-mixed.mjs');

  // kd-pipeline: one stage writes the directory; run caches it; push; pull into a fresh clone.
  await bucket('bench-kd');
  const p = tempDir('kd-src');
  writeFileSync(path.join(p, 'params.yaml'), '');
  writeFileSync(path.join(p, 'pipeline.yaml'), `stages:\n  data:\n    cmd: node ${gen} mixed ${MB} 1\n    outs: [mixed]\n`);
  kd(p, 'remote', 'add', 'origin', 's3://bench-kd/mixed');
  kd(p, 'run');
  const kdPush = kd(p, 'push', '--json', ...jobsArgs);
  const q = tempDir('kd-clone');
  for (const file of ['params.yaml', 'pipeline.yaml', 'pipeline.lock', '.kdconfig.yaml']) cpSync(path.join(p, file), path.join(q, file));
  const data = path.join(tempDir('data'), 'mixed');
  cpSync(path.join(p, 'mixed'), data, { recursive: true });
  drop(p);
  const kdPull = kd(q, 'pull', '--json', ...jobsArgs);
  const kdPulled = JSON.parse(kdPull.stdout);
  if (kdPulled.failed.length > 0) throw new Error(`kd pull failed: ${JSON.stringify(kdPulled.failed.slice(0, 3))}`);
  kd(q, 'status', '--check');
  drop(q);

  // DVC: the same files, `dvc add`, push; pull into a fresh repository with the .dvc file and config.
  await bucket('bench-dvc');
  const d = tempDir('dvc-src');
  const dvcRun = (cwd, ...args) => timed(dvc, args, cwd);
  dvcRun(d, 'init', '--no-scm', '-q');
  cpSync(data, path.join(d, 'mixed'), { recursive: true });
  drop(path.dirname(data));
  dvcRun(d, 'add', '-q', 'mixed');
  dvcRun(d, 'remote', 'add', '-d', 'origin', 's3://bench-dvc/mixed');
  dvcRun(d, 'remote', 'modify', 'origin', 'endpointurl', endpoint);
  const dvcPush = dvcRun(d, 'push', '-q', ...(opts.jobs ? ['--jobs', opts.jobs] : []));
  const e = tempDir('dvc-clone');
  dvcRun(e, 'init', '--no-scm', '-q');
  cpSync(path.join(d, '.dvc', 'config'), path.join(e, '.dvc', 'config'));
  cpSync(path.join(d, 'mixed.dvc'), path.join(e, 'mixed.dvc'));
  drop(d);
  const dvcPull = dvcRun(e, 'pull', '-q', ...(opts.jobs ? ['--jobs', opts.jobs] : []));
  drop(e);

  row(`push ${MB} MiB (${kdPulled.pulled - 2} files), kd-pipeline`, rate(kdPush.seconds), 'DVC or faster', kdPush.seconds <= dvcPush.seconds ? 'meets goal' : 'MISSES goal');
  row(`push ${MB} MiB, DVC ${DVC_VERSION}`, rate(dvcPush.seconds));
  row(`pull ${MB} MiB into a fresh clone (checkout included), kd-pipeline`, rate(kdPull.seconds), 'DVC or faster', kdPull.seconds <= dvcPull.seconds ? 'meets goal' : 'MISSES goal');
  row(`pull ${MB} MiB into a fresh clone (checkout included), DVC ${DVC_VERSION}`, rate(dvcPull.seconds));
}

s3.destroy();
console.log('\n| measure | result | goal | |\n|---|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
process.exit(0); // stops moto (the exit handler) and deletes what is left
