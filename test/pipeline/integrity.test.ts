import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { producer } from '../remote/projects.js';
import { dirEntryHash, flipByte, keyOf, lockedHash, md5 } from './corruption.js';
import { chainProject, CLI, cliEnv, Project, removeProjects } from './harness.js';

const dirs: string[] = [];
afterAll(() => {
  removeProjects();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const quarantined = (p: Project): string[] => (p.exists('.kd/quarantine') ? readdirSync(p.path('.kd/quarantine')) : []);

describe('cache objects are verified before they reach the workspace', () => {
  it('a flipped byte in a cached file of a directory out: never checked out, one warning naming stage and path, the stage runs instead', async () => {
    const p = producer();
    expect((await p.run()).code).toBe(0);
    const big = dirEntryHash(p, lockedHash(p, 'prepare', 'data'), 'sub/big.bin');
    flipByte(p.path(`.kd/${keyOf(big)}`));
    p.remove('data');

    const run = await p.run();
    expect(run.code, run.stderr).toBe(0);
    expect(run.results).toEqual({ prepare: 'ran', train: 'skipped' });
    const warnings = run.stderr.split('\n').filter((line) => line.includes('corrupt'));
    expect(warnings).toEqual([
      expect.stringMatching(
        new RegExp(`^kd-pipeline: warning: stage prepare: cached object for data/sub/big\\.bin is corrupt \\(expected ${big}, got [0-9a-f]{32}\\); moved to \\.kd/quarantine/${big}\\.\\d+; running the stage instead$`),
      ),
    ]);
    expect(md5(readFileSync(p.path('data/sub/big.bin')))).toBe(big);
    expect(quarantined(p)).toHaveLength(1);
    expect(md5(readFileSync(p.path(`.kd/${keyOf(big)}`)))).toBe(big);
    expect((await p.kd(['status', '--check'])).code).toBe(0);
    expect((await p.run()).results).toEqual({ prepare: 'skipped', train: 'skipped' });
  });

  it('restoring from the run-cache: a corrupt object never lands and the lock never names bytes the workspace lacks', async () => {
    const p = chainProject();
    expect((await p.run()).code).toBe(0);
    const good = p.read('up.txt');
    const hash = lockedHash(p, 'up', 'up.txt');
    p.write('params.yaml', p.read('params.yaml').replace('a: 1', 'a: 2'));
    expect((await p.run('up')).results).toEqual({ up: 'ran' });
    flipByte(p.path(`.kd/${keyOf(hash)}`), 0);
    p.write('params.yaml', p.read('params.yaml').replace('a: 2', 'a: 1'));

    const run = await p.run('up');
    expect(run.results).toEqual({ up: 'ran' });
    expect(run.stderr).toContain('kd-pipeline: warning: stage up: cached object for up.txt is corrupt');
    expect(p.read('up.txt')).toBe(good);
    expect(lockedHash(p, 'up', 'up.txt')).toBe(md5(p.read('up.txt')));
    expect((await p.run('up')).results).toEqual({ up: 'skipped' });
  });

  it('an object written or verified once is remembered by its inode, size and mtime in .kd/verified.json, and restores from there', async () => {
    const p = chainProject();
    expect((await p.run()).code).toBe(0);
    const memo = () => JSON.parse(p.read('.kd/verified.json')) as Record<string, { hash: string }>;
    const hash = lockedHash(p, 'side', 'side.out');
    expect(memo()[keyOf(hash).slice('cache/'.length)]?.hash).toBe(hash);
    p.remove('side.out');
    expect((await p.run('side')).results).toEqual({ side: 'restored' });
    expect(p.read('side.out')).toBe('side\nside\n');
  });

  it('a path that cannot be stat\'ed (EACCES) stops the run naming it, and nothing is deleted', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kd-perm-'));
    dirs.push(dir);
    const p = new Project({ 'pipeline.yaml': 'stages:\n  s:\n    cmd: mkdir -p sub && echo hi > sub/out.txt\n    outs: [sub/out.txt]\n' });
    // As an unprivileged user: root reads through any permission bits.
    const asNobody = (args: string[]) => {
      spawnSync('chown', ['-R', 'nobody', p.dir]);
      return spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, ...args], { cwd: p.dir, env: cliEnv(), encoding: 'utf8' });
    };
    expect(asNobody(['run']).status).toBe(0);
    chmodSync(p.path('sub'), 0o000);
    const run = asNobody(['run']);
    chmodSync(p.path('sub'), 0o755);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`kd-pipeline: error: cannot read ${p.path('sub/out.txt')}: EACCES`);
    expect(p.read('sub/out.txt')).toBe('hi\n');
    chownSync(p.dir, 0, 0);
  });
});

describe('kd-pipeline cache verify', () => {
  it('lists corrupt objects and invalid or dangling run-cache entries (exit 1); --repair quarantines them, stores good copies again from the workspace, and leaves a clean cache', async () => {
    const p = producer();
    expect((await p.run()).code).toBe(0);
    const clean = await p.kd(['cache', 'verify', '--json']);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.json).toMatchObject({ store: '.kd', remote: null, objects: 8, runs: 2, problems: [] });

    const model = lockedHash(p, 'train', 'model.txt');
    flipByte(p.path(`.kd/${keyOf(model)}`));
    p.write('.kd/runs/00/bad.json', '{"cmd": ');
    const found = await p.kd(['cache', 'verify', '--json']);
    expect(found.code).toBe(1);
    expect(found.json.problems).toEqual([
      { key: keyOf(model), kind: 'corrupt', error: expect.stringContaining(`${keyOf(model)}: its content hashes to`) },
      { key: 'runs/00/bad.json', kind: 'invalid', error: expect.any(String) },
      { key: expect.stringMatching(/^runs\//), kind: 'dangling', error: expect.stringContaining(`needs ${keyOf(model)}`) },
    ]);
    const text = await p.kd(['cache', 'verify']);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`corrupt: ${keyOf(model)}`);

    const repair = await p.kd(['cache', 'verify', '--repair', '--json']);
    expect(repair.code, repair.stderr).toBe(0);
    expect(repair.json.repaired).toEqual([keyOf(model), 'runs/00/bad.json']);
    expect(repair.json.restored).toEqual([keyOf(model)]);
    expect(quarantined(p)).toHaveLength(1);
    expect((await p.kd(['cache', 'verify', '--json'])).json).toMatchObject({ objects: 8, runs: 2, problems: [] });
  });

  it('with nothing in the workspace to restore from, --repair drops the dangling run-cache entry and the stage runs again', async () => {
    const p = chainProject();
    expect((await p.run()).code).toBe(0);
    flipByte(p.path(`.kd/${keyOf(lockedHash(p, 'side', 'side.out'))}`));
    p.remove('side.out');
    const repair = await p.kd(['cache', 'verify', '--repair', '--json']);
    expect(repair.code).toBe(0);
    expect(repair.json.repaired).toHaveLength(2);
    expect(repair.json.restored).toEqual([]);
    expect((await p.run()).results).toEqual({ up: 'skipped', down: 'skipped', side: 'ran' });
    expect((await p.kd(['cache', 'verify'])).code).toBe(0);
  });
});

describe('push never uploads an object whose bytes do not match its name', () => {
  it('the corrupt object is quarantined and named with its stage and path; once repaired from the workspace, the next push uploads the good copy', async () => {
    const p = producer();
    const dir = mkdtempSync(path.join(tmpdir(), 'kd-remote-'));
    dirs.push(dir);
    expect((await p.kd(['remote', 'add', 'shared', dir])).code).toBe(0);
    expect((await p.run()).code).toBe(0);
    const big = dirEntryHash(p, lockedHash(p, 'prepare', 'data'), 'sub/big.bin');
    flipByte(p.path(`.kd/${keyOf(big)}`));

    const push = await p.kd(['push', '--json']);
    expect(push.code).toBe(1);
    expect(push.stderr).toMatch(new RegExp(`kd-pipeline: error: push: ${keyOf(big)} in the local cache is corrupted: its content hashes to [0-9a-f]{32}, not ${big}; moved to \\.kd/quarantine/${big}\\.\\d+, not pushed \\(stage prepare: data/sub/big\\.bin\\)`));
    expect(existsIn(dir, keyOf(big))).toBe(false);
    expect(quarantined(p)).toHaveLength(1);

    const repair = await p.kd(['cache', 'verify', '--repair', '--json']);
    expect(repair.json.restored).toEqual([keyOf(big)]);
    const again = await p.kd(['push', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(md5(readFileSync(path.join(dir, keyOf(big))))).toBe(big);
    expect((await p.kd(['cache', 'verify', '--remote', '--json'])).json).toMatchObject({ remote: 'shared', problems: [] });
  });
});

function existsIn(dir: string, key: string): boolean {
  try {
    readFileSync(path.join(dir, key));
    return true;
  } catch {
    return false;
  }
}
