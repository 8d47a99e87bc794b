#!/usr/bin/env node
// `npm run bench:verify`: what verifying cache objects against their hashes costs, on throw-away
// projects in the system temp directory (deleted afterwards). Verification is switched off for
// comparison with KD_VERIFY=0, which exists for this benchmark only.
//
//   (a) a no-op `kd-pipeline run` (everything up to date) of the default pipeline with the tiny
//       settings of the end-to-end tests: verification on vs off, alternating, N runs each;
//   (b) checking a 1 GiB output out of the cache (`rm big.bin && kd-pipeline run`: restored):
//       off (a plain copy, as before verification); on with the object already verified (written
//       by a run or a pull, or checked out before: one stat, then the same copy); on with the
//       memo deleted (cold: the object is hashed while it is copied).
//
// Options: --runs N (no-op runs per mode, default 11), --reps N (checkouts per mode, default 3),
// --mb N (size of the output, default 1024), --only a,b. Needs a built CLI (`npx tsc -p tsconfig.json`).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { tinyFlags, tinyProject } from '../test/e2e/tiny-project.mjs';
import { GNU_TIME, stats, timed } from './timing.mjs';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const CLI = path.join(REPO, 'bin', 'kd-pipeline.js');
const GOALS = { noop: 1.1, checkout: 1.2 };

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '11' },
    reps: { type: 'string', default: '3' },
    mb: { type: 'string', default: '1024' },
    only: { type: 'string', default: 'a,b' },
  },
});
const ONLY = new Set(opts.only.split(','));
const temps = [];
process.on('exit', () => temps.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

function cli(cwd, args, verify = true) {
  const env = { ...process.env, MLFLOW_TRACKING_URI: '', KD_VERIFY: verify ? '1' : '0' };
  const result = timed([process.execPath, CLI, ...args], { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (result.status !== 0) throw new Error(`kd-pipeline ${args.join(' ')} in ${cwd} exited ${result.status}:\n${result.stderr.slice(-3000)}`);
  return result;
}

const sec = (x) => `${x.toFixed(3)} s`;
function report(label, on, off, goal) {
  const ratio = on.median / off.median;
  console.log(`  ${label}: on ${sec(on.median)}, off ${sec(off.median)} (median of ${on.n}) → ${ratio.toFixed(2)}× (goal ≤ ${goal}×: ${ratio <= goal ? 'met' : 'NOT met'})`);
}

/** Alternates the modes so that a change in the machine's load hits each alike. */
function compare(modes, reps, once) {
  const samples = Object.fromEntries(Object.keys(modes).map((mode) => [mode, { wall: [], cpu: [] }]));
  for (let i = 0; i < reps; i++) {
    for (const [mode, setup] of Object.entries(modes)) {
      const { seconds, cpu } = once(setup);
      samples[mode].wall.push(seconds);
      samples[mode].cpu.push(cpu);
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([mode, s]) => [mode, { wall: stats(s.wall), cpu: stats(s.cpu) }]));
}

console.log(`bench:verify on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);

if (ONLY.has('a')) {
  const root = tinyProject();
  temps.push(root);
  console.log('(a) no-op run of the default pipeline (tiny settings): training it once…');
  cli(root, ['run', ...tinyFlags()]);
  cli(root, ['run']);
  const runs = Number(opts.runs);
  const r = compare({ on: true, off: false }, runs, (verify) => cli(root, ['run', '--json'], verify));
  report('wall', r.on.wall, r.off.wall, GOALS.noop);
  if (GNU_TIME) report('CPU (user+sys)', r.on.cpu, r.off.cpu, GOALS.noop);
}

if (ONLY.has('b')) {
  const mb = Number(opts.mb);
  const root = mkdtempSync(path.join(os.tmpdir(), 'kd-bench-verify-'));
  temps.push(root);
  writeFileSync(path.join(root, 'pipeline.yaml'), `stages:\n  big:\n    cmd: head -c ${mb * 1024 * 1024} /dev/urandom > big.bin\n    outs: [big.bin]\n`);
  console.log(`(b) checking a ${mb} MiB output out of the cache: writing it once…`);
  cli(root, ['run']);
  const reps = Number(opts.reps);
  const modes = { off: { verify: false, cold: false }, warm: { verify: true, cold: false }, cold: { verify: true, cold: true } };
  const r = compare(modes, reps, ({ verify, cold }) => {
    rmSync(path.join(root, 'big.bin'), { force: true });
    if (cold) rmSync(path.join(root, '.kd', 'verified.json'), { force: true });
    const result = cli(root, ['run', '--json'], verify);
    if (!result.stdout.includes('"restored"')) throw new Error(`expected a restore:\n${result.stdout}`);
    return result;
  });
  report('on, object verified before (the usual case): wall', r.warm.wall, r.off.wall, GOALS.checkout);
  report('on, memo deleted (hashed while copied): wall', r.cold.wall, r.off.wall, GOALS.checkout);
  if (GNU_TIME) {
    report('on, object verified before: CPU (user+sys)', r.warm.cpu, r.off.cpu, GOALS.checkout);
    report('on, memo deleted: CPU (user+sys)', r.cold.cpu, r.off.cpu, GOALS.checkout);
  }
}
