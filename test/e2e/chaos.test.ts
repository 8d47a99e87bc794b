import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { hashPath } from '../../lib/pipeline/hashing.js';
import { StateStore } from '../../lib/pipeline/state-store.js';
import { seededRandom } from '../../lib/seeded-random.js';
import { CLI, cliEnv } from '../pipeline/harness.js';
import { tinyFlags, tinyProject } from './tiny-settings.js';

/** How many runs to SIGKILL (KD_CHAOS_KILLS; a handful keeps the test near a minute on 2 cores) and the seed of their moments. */
const KILLS = Number(process.env.KD_CHAOS_KILLS ?? 5);
const SEED = Number(process.env.KD_CHAOS_SEED ?? Date.now() % 100_000);

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** The CLI as the leader of its own process group, so that the whole group can be killed at once. */
function start(cwd: string, args: string[]): ChildProcess & { output: () => string; done: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: cliEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const done = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return Object.assign(child, { output: () => text, done });
}

async function kd(cwd: string, args: string[]): Promise<{ code: number | null; output: string }> {
  const child = start(cwd, args);
  const code = await child.done;
  return { code, output: child.output() };
}

/** Starts `args`, SIGKILLs its process group after `ms` if it is still running; true when it was killed. */
async function killAfter(cwd: string, args: string[], ms: number): Promise<boolean> {
  const child = start(cwd, args);
  const finished = await Promise.race([child.done.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), ms))]);
  if (finished) return false;
  process.kill(-(child.pid as number), 'SIGKILL');
  await child.done;
  return true;
}

/** Objects under a store's cache/ (a directory remote, or a project's .kd). */
function objectCount(store: string): number {
  try {
    return readdirSync(path.join(store, 'cache')).reduce((n, shard) => n + readdirSync(path.join(store, 'cache', shard)).length, 0);
  } catch {
    return 0;
  }
}

/** Starts `args` and SIGKILLs its process group once `store` holds `objects` objects: half-way through a transfer. */
async function killMidTransfer(cwd: string, args: string[], store: string, objects: number): Promise<boolean> {
  const child = start(cwd, args);
  let exited = false;
  void child.done.then(() => (exited = true));
  while (!exited && objectCount(store) < objects) await new Promise((resolve) => setTimeout(resolve, 5));
  if (exited) return false;
  process.kill(-(child.pid as number), 'SIGKILL');
  await child.done;
  return true;
}

/** Pids of processes (other than this one) whose cwd or command line is inside one of `dirs`. */
function projectProcesses(dirs: string[]): string[] {
  return readdirSync('/proc').filter((pid) => {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) return false;
    try {
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return dirs.some((dir) => cwd === dir || cwd.startsWith(`${dir}/`) || cmdline.includes(dir));
    } catch {
      return false;
    }
  });
}

async function noneLeft(dirs: string[]): Promise<string[]> {
  // The stages' watchdogs end their process groups once the runner's pipe closes: give them a moment.
  const deadline = Date.now() + 15_000;
  let left = projectProcesses(dirs);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    left = projectProcesses(dirs);
  }
  return left;
}

/** Every hashed out of pipeline.lock hashed afresh (no state memo) against the lock. */
async function outsMatchingLock(root: string): Promise<{ path: string; locked: string; actual: string | undefined }[]> {
  const lock = parse(readFileSync(path.join(root, 'pipeline.lock'), 'utf8')) as { stages: Record<string, { outs: { path: string; hash?: string }[] }> };
  const state = new StateStore(path.join(root, 'no-such-dir', 'state.json'));
  const rows = [];
  for (const stage of Object.values(lock.stages)) {
    for (const out of stage.outs) if (out.hash) rows.push({ path: out.path, locked: out.hash, actual: (await hashPath(path.join(root, out.path), state))?.hash });
  }
  return rows;
}

function results(output: string): Record<string, string> {
  const json = JSON.parse(output.slice(output.indexOf('{"runId"')).split('\n')[0] as string) as { stages: { name: string; result: string }[] };
  return Object.fromEntries(json.stages.map((s) => [s.name, s.result]));
}

describe('chaos: the default pipeline (tiny settings) SIGKILLed at random moments', () => {
  it('survives: one run completes, status --check passes, a second run runs nothing, outs match the lock, no process is left, cache verify finds nothing', async () => {
    const root = tinyProject();
    const remote = mkdtempSync(path.join(tmpdir(), 'kd-chaos-remote-'));
    const clone = mkdtempSync(path.join(tmpdir(), 'kd-chaos-clone-'));
    roots.push(root, remote, clone);
    const random = seededRandom(SEED);
    let runKills = 0;
    for (let i = 0; i < KILLS; i++) {
      // Half of the tries force every stage, so that there is work to kill even once a run has completed.
      const args = ['run', ...(random() < 0.5 ? ['-f'] : []), ...tinyFlags()];
      if (await killAfter(root, args, 300 + random() * 9_000)) runKills += 1;
    }
    expect(await noneLeft([root])).toEqual([]);

    const run = await kd(root, ['run', '--json', ...tinyFlags()]);
    expect(run.code, run.output).toBe(0);
    expect((await kd(root, ['status', '--check'])).code).toBe(0);
    const again = await kd(root, ['run', '--json']);
    expect(Object.values(results(again.output)).every((result) => result === 'skipped'), again.output).toBe(true);
    const outs = await outsMatchingLock(root);
    expect(outs.length).toBeGreaterThan(8);
    expect(outs.filter((o) => o.actual !== o.locked)).toEqual([]);
    const verify = await kd(root, ['cache', 'verify']);
    expect(verify.code, verify.output).toBe(0);

    // A push and a pull cut off half-way, then done again.
    expect((await kd(root, ['remote', 'add', 'shared', remote])).code).toBe(0);
    let transferKills = 0;
    const total = objectCount(path.join(root, '.kd'));
    for (const share of [0.2, 0.6]) if (await killMidTransfer(root, ['push', '-j', '2'], remote, Math.ceil(total * share * (0.5 + random())))) transferKills += 1;
    expect((await kd(root, ['push'])).code).toBe(0);
    expect((await kd(root, ['cache', 'verify', '--remote'])).code).toBe(0);
    for (const file of ['pipeline.yaml', 'params.yaml', 'pipeline.lock', '.kdconfig.yaml', 'data/sentiment-labelled-sentences.csv']) {
      mkdirSync(path.dirname(path.join(clone, file)), { recursive: true });
      copyFileSync(path.join(root, file), path.join(clone, file));
    }
    for (const share of [0.2, 0.6]) if (await killMidTransfer(clone, ['pull', '-j', '2'], path.join(clone, '.kd'), Math.ceil(total * share * (0.5 + random())))) transferKills += 1;
    expect(transferKills).toBeGreaterThan(0);
    const pull = await kd(clone, ['pull']);
    expect(pull.code, pull.output).toBe(0);
    expect((await kd(clone, ['status', '--check'])).code).toBe(0);
    expect((await outsMatchingLock(clone)).filter((o) => o.actual !== o.locked)).toEqual([]);
    expect((await kd(clone, ['cache', 'verify'])).code).toBe(0);
    expect(await noneLeft([root, clone, remote])).toEqual([]);
    console.log(`chaos (seed ${SEED}): survived ${runKills} of ${KILLS} SIGKILLed runs and ${transferKills} of 4 SIGKILLed pushes/pulls`);
  }, 300_000);
});
