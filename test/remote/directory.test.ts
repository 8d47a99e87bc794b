import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, cliEnv, removeProjects, type Project } from '../pipeline/harness.js';
import { needs } from '../prerequisites.js';
import { cloneOf, corruptObjects, producer } from './projects.js';

const dirs: string[] = [];
afterAll(() => {
  removeProjects();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A new directory remote (a shared disk or NFS stands in), set up as `p`'s default remote. */
async function withDirectory(p: Project): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kd-remote-'));
  dirs.push(dir);
  expect((await p.kd(['remote', 'add', 'shared', dir])).code).toBe(0);
  return dir;
}

function files(dir: string, prefix = ''): string[] {
  return readdirSync(path.join(dir, prefix), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(dir, `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
}

/** Why this machine cannot mount a small tmpfs in a user + mount namespace (Linux; CI's can), or undefined. */
function tmpfsMissing(): string | undefined {
  const probe = spawnSync('unshare', ['--user', '--map-root-user', '--mount', 'sh', '-c', 'mount -t tmpfs -o size=64k tmpfs /tmp'], { encoding: 'utf8' });
  if (probe.status === 0) return undefined;
  const reason = probe.error ? probe.error.message : probe.stderr.trim().split('\n')[0] || `exit ${probe.status}`;
  return `a tmpfs in a user + mount namespace (\`unshare --user --map-root-user --mount\`) cannot be mounted here: ${reason}`;
}
const tmpfs = needs(
  tmpfsMissing(),
  "the full-disk test needs Linux with util-linux's unshare and unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1; on Ubuntu 23.10+ also kernel.apparmor_restrict_unprivileged_userns=0)",
);

describe('remote cache in a directory', () => {
  it('run and push in A; a fresh clone B restores every stage with run --pull, runs none, and status --check passes', async () => {
    const a = producer();
    const dir = await withDirectory(a);
    expect((await a.run()).results).toEqual({ prepare: 'ran', train: 'ran' });
    expect((await a.kd(['push', '--json'])).json).toEqual({ pushed: 10, skipped: 0, bytes: expect.any(Number) });
    expect(files(dir).filter((f) => f.startsWith('tmp/'))).toEqual([]);
    expect(files(dir).filter((f) => f.startsWith('cache/'))).toHaveLength(8);
    expect(files(dir).filter((f) => f.startsWith('runs/'))).toHaveLength(2);

    const b = cloneOf(a);
    const run = await b.kd(['run', '--pull', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json.stages.map((s: { result: string }) => s.result)).toEqual(['restored', 'restored']);
    expect(b.exists('ran.log')).toBe(false);
    expect((await b.kd(['status', '--check'])).code).toBe(0);
    expect(execFileSync('./run.sh', { cwd: b.dir, encoding: 'utf8' })).toBe('hi\n');
    expect((await b.kd(['status', '--remote', '--check'])).code).toBe(0);
  });

  it('a corrupted object in the directory is refused on pull and named by its key', async () => {
    const a = producer();
    const dir = await withDirectory(a);
    expect((await a.run()).code).toBe(0);
    expect((await a.kd(['push'])).code).toBe(0);
    const big = files(dir).find((f) => f.startsWith('cache/') && !f.endsWith('.dir')) as string;
    const target = path.join(dir, big);
    chmodSync(target, 0o644);
    writeFileSync(target, 'bit rot\n');
    const b = cloneOf(a);
    const pull = await b.kd(['pull', '--json']);
    expect(pull.code).toBe(1);
    expect(pull.json.failed).toEqual([{ key: big, reason: 'corrupt', error: expect.stringContaining(`${big} in ${dir} is corrupted`) }]);
    expect(corruptObjects(b)).toEqual([]);
  });

  tmpfs.it('a full local disk: a clear error, no partial object, the lock untouched, and the pull resumes once there is room', async () => {
    const a = producer(3, 512);
    await withDirectory(a);
    expect((await a.run()).code).toBe(0);
    expect((await a.kd(['push'])).code).toBe(0);
    const b = cloneOf(a);
    const lock = b.read('pipeline.lock');
    // .kd/ on a 256 kB file system: the 512 kB big.bin cannot fit; list what is left in it afterwards.
    const env = { ...cliEnv(), ...b.env };
    const script = `mkdir -p .kd && mount -t tmpfs -o size=256k tmpfs .kd && node ${CLI} pull --json; echo "exit=$?"; find .kd -type f | sort`;
    const full = spawnSync('unshare', ['--user', '--map-root-user', '--mount', 'sh', '-c', script], { cwd: b.dir, env, encoding: 'utf8' });
    expect(full.stderr).toMatch(/kd-pipeline: error: no space left on the device of .*\.kd while writing cache\/[0-9a-f]{2}\/[0-9a-f]+ \(ENOSPC\); free some space and run the command again: it resumes where it stopped/);
    const lines = full.stdout.split('\n').filter(Boolean);
    expect(lines[0]).toBe('exit=1');
    const left = lines.slice(1);
    expect(left.filter((f) => f.startsWith('.kd/cache/')).length).toBeGreaterThan(0);
    expect(left.filter((f) => f.startsWith('.kd/tmp/'))).toEqual([]);
    expect(b.read('pipeline.lock')).toBe(lock);
    expect(b.exists('data')).toBe(false);
    const resumed = await b.kd(['pull', '--json']);
    expect(resumed.json).toMatchObject({ pulled: 10, failed: [] });
    expect((await b.kd(['status', '--check'])).code).toBe(0);
  });
});
