import { chmodSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { Project, removeProjects } from './harness.js';
import { asOtherUser, openToAll } from './other-user.js';

const dirs: string[] = [];
afterAll(() => {
  removeProjects();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** An empty folder for a directory remote, removed after the tests. */
function newRemote(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'kd-remote-'));
  dirs.push(dir);
  return dir;
}

/** One stage with a directory out and a file out, both depending on param n. */
function project(): Project {
  return new Project({
    'params.yaml': 'n: 1\n',
    'pipeline.yaml': `stages:
  make:
    cmd: mkdir -p data && echo \${n} > data/a.txt && echo b > data/b.txt && echo \${n}\${n} > model.txt
    params: [n]
    outs: [data, model.txt]
`,
  });
}

/** Ran with n=1 then n=2: the cache holds objects the lock no longer names, and two run-cache entries. */
async function ranTwice(): Promise<Project> {
  const p = project();
  expect((await p.run()).code).toBe(0);
  expect((await p.run('--set', 'n=2')).code).toBe(0);
  return p;
}

/** What gc could delete: the cache objects and run-cache entries. */
const stored = (p: Project) => p.files('.kd').filter((f) => /^\.kd\/(cache|runs)\//.test(f)).sort();

const objectFile = (hash: string) => `.kd/cache/${hash.slice(0, 2)}/${hash.slice(2)}`;

describe('gc deletes nothing it cannot account for, and says why', () => {
  it('without a pipeline.lock, gc and gc --dry-run refuse and say what to do', async () => {
    const p = await ranTwice();
    const remote = newRemote();
    expect((await p.kd(['remote', 'add', 'shared', remote])).code).toBe(0);
    expect((await p.kd(['push'])).code).toBe(0);
    const onRemote = readdirSync(path.join(remote, 'cache'), { recursive: true });
    p.remove('pipeline.lock');
    const before = stored(p);
    for (const args of [['gc'], ['gc', '--dry-run'], ['gc', '--remote', '--force']]) {
      const gc = await p.kd(args);
      expect(gc.code, args.join(' ')).toBe(1);
      expect(gc.stderr).toContain(`: there is no pipeline.lock in ${p.dir}, and gc keeps only what a lock names; run \`kd-pipeline run\` (or restore pipeline.lock from git) first; nothing was deleted`);
    }
    expect(stored(p)).toEqual(before);
    expect(readdirSync(path.join(remote, 'cache'), { recursive: true })).toEqual(onRemote);
  });

  it.for([
    ['unreadable (EACCES)', 'EACCES: permission denied'],
    ['a directory (EISDIR)', 'EISDIR: illegal operation on a directory'],
  ] as const)('a pipeline.lock that is %s stops gc, run and status with the path and the reason', async ([how, reason]) => {
    const p = await ranTwice();
    const before = stored(p);
    const kd = (args: string[]) => (how.startsWith('unreadable') ? asOtherUser(p, args) : p.kd(args));
    if (how.startsWith('unreadable')) {
      openToAll(p.dir);
      chmodSync(p.path('pipeline.lock'), 0o000);
    } else {
      p.remove('pipeline.lock');
      mkdirSync(p.path('pipeline.lock'));
    }
    const gc = await kd(['gc']);
    expect(gc.code).toBe(1);
    expect(gc.stderr).toContain(`kd-pipeline: error: gc: pipeline.lock: cannot read (${reason}); nothing was deleted`);
    expect(stored(p)).toEqual(before);
    for (const args of [['status'], ['run']]) {
      const r = await kd(args);
      expect(r.code, args[0]).toBe(1);
      expect(r.stderr).toContain(`kd-pipeline: error: pipeline.lock: cannot read (${reason})`);
    }
    expect(stored(p)).toEqual(before);
  });

  it.for(['cache folder', 'cache shard', 'run-cache folder'])('an unreadable %s (EACCES) stops gc: nothing deleted', async (what) => {
    const p = await ranTwice();
    const before = stored(p);
    const model = p.lock().stages.make.outs[1].hash as string;
    const folder = { 'cache folder': '.kd/cache', 'cache shard': path.dirname(objectFile(model)), 'run-cache folder': '.kd/runs' }[what] as string;
    openToAll(p.dir);
    chmodSync(p.path(folder), 0o000);
    const gc = await asOtherUser(p, ['gc']);
    chmodSync(p.path(folder), 0o777);
    expect(gc.code, gc.stderr).toBe(1);
    // The first read to fail names its path: the folder, or a manifest inside the unreadable folder.
    expect(gc.stderr).toMatch(new RegExp(`kd-pipeline: error: gc: ${p.path(folder).replace(/\./g, '\\.')}(/\\S+)?: cannot read \\(EACCES: permission denied\\); nothing was deleted`));
    expect(stored(p)).toEqual(before);
  });

  it('a corrupt directory manifest stops gc, naming the manifest and the lock entry: the files it names are kept', async () => {
    const p = await ranTwice();
    const data = p.lock().stages.make.outs[0].hash as string;
    const manifest = objectFile(data);
    chmodSync(p.path(manifest), 0o644);
    p.write(manifest, '[{"path": "a.txt", "hash": "');
    const before = stored(p);
    for (const args of [['gc'], ['gc', '--dry-run']]) {
      const gc = await p.kd(args);
      expect(gc.code).toBe(1);
      expect(gc.stderr).toMatch(new RegExp(`kd-pipeline: error: gc: ${p.path(manifest)}: corrupt directory manifest \\(.+\\), named by pipeline\\.lock: make → data: gc cannot tell which files it keeps`));
      expect(gc.stderr).toContain('; nothing was deleted');
    }
    expect(stored(p)).toEqual(before);
    // The stage's restore treats the corrupt manifest as missing: the stage runs again.
    p.remove('data');
    expect((await p.run()).results).toEqual({ make: 'ran' });
  });

  it.for(['trial.json', 'sweep.json'])('a corrupt experiment record (%s) stops gc naming it: the trial keeps its objects', async (record) => {
    const p = project();
    expect((await p.run()).code).toBe(0);
    const sweep = await p.kd(['exp', 'run', '-S', 'n=3,4', '--name', 's', '--json']);
    expect(sweep.code, sweep.stderr).toBe(0);
    const file = record === 'trial.json' ? '.kd/exp/s/1/.kd/trial.json' : '.kd/exp/s/sweep.json';
    p.write(file, '{"id": "s.1", "sweep"');
    const before = stored(p);
    const gc = await p.kd(['gc']);
    expect(gc.code).toBe(1);
    expect(gc.stderr).toMatch(new RegExp(`kd-pipeline: error: gc: ${p.path(file)}: corrupt experiment record \\(.+\\); fix or remove it; nothing was deleted`));
    expect(stored(p)).toEqual(before);
    // exp show does not hide the trial either.
    const show = await p.kd(['exp', 'show']);
    expect(show.code).toBe(1);
    expect(show.stderr).toContain(`kd-pipeline: error: ${p.path(file)}: corrupt experiment record`);
    // The sweep can still be removed, and then gc runs.
    expect((await p.kd(['exp', 'remove', '--sweep', 's', '--json'])).json).toEqual({ removed: ['s.1', 's.2'] });
    expect((await p.kd(['gc', '--json'])).json).toMatchObject({ removedObjects: 6 });
  });
});

async function git(p: Project, ...args: string[]): Promise<void> {
  await execa('git', ['-c', 'user.name=kd test', '-c', 'user.email=kd@test.invalid', '-c', 'init.defaultBranch=main', ...args], { cwd: p.dir });
}

describe('gc --all-commits keeps what pipeline.lock in git history names', () => {
  it('locally and on a directory remote; outside git it is a clear error', async () => {
    const p = project();
    expect((await p.run()).code).toBe(0);
    const notGit = await p.kd(['gc', '--all-commits']);
    expect(notGit.code).toBe(1);
    expect(notGit.stderr).toContain(`kd-pipeline: error: gc: --all-commits reads pipeline.lock from git history, but ${p.dir} is not in a git repository; nothing was deleted`);

    const remote = newRemote();
    expect((await p.kd(['remote', 'add', 'shared', remote])).code).toBe(0);
    const oldModel = p.lock().stages.make.outs[1].hash as string;
    await git(p, 'init', '-q');
    await git(p, 'add', 'pipeline.yaml', 'params.yaml', 'pipeline.lock');
    await git(p, 'commit', '-q', '-m', 'n=1');
    const commit = (await execa('git', ['rev-parse', 'HEAD'], { cwd: p.dir })).stdout.trim();
    // A teammate's branch with n=5, never checked out here.
    await git(p, 'checkout', '-q', '-b', 'teammate');
    expect((await p.run('--set', 'n=5')).code).toBe(0);
    const branchModel = p.lock().stages.make.outs[1].hash as string;
    expect((await p.kd(['push'])).code).toBe(0);
    await git(p, 'commit', '-q', '-am', 'n=5');
    await git(p, 'checkout', '-q', 'main');
    expect((await p.run('--set', 'n=2')).code).toBe(0);
    expect((await p.kd(['push'])).code).toBe(0);

    const dry = await p.kd(['gc', '--all-commits', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json.removed).toEqual([]);
    expect(dry.json.kept).toEqual(expect.arrayContaining([{ hash: oldModel, size: 3, by: `pipeline.lock at ${commit.slice(0, 10)}: make → model.txt` }]));
    expect(dry.json.kept.map((item: { hash: string }) => item.hash)).toContain(branchModel);
    const text = await p.kd(['gc', '--all-commits', '--dry-run']);
    expect(text.stdout).toMatch(new RegExp(`^keep    ${oldModel} +3 B  pipeline\\.lock at ${commit.slice(0, 10)}: make → model\\.txt$`, 'm'));

    const remoteDry = await p.kd(['gc', '--remote', '--all-commits', '--json']);
    expect(remoteDry.json).toMatchObject({ removedObjects: 0, dryRun: true });
    const forced = await p.kd(['gc', '--remote', '--all-commits', '--force', '--json']);
    expect(forced.json).toMatchObject({ removedObjects: 0, dryRun: false });
    // Without --all-commits what only other commits' locks name goes.
    const plain = await p.kd(['gc', '--remote', '--force', '--json']);
    expect(plain.json.removed.map((item: { hash: string }) => item.hash)).toEqual(expect.arrayContaining([oldModel, branchModel]));

    expect((await p.kd(['gc', '--all-commits', '--json'])).json).toMatchObject({ removedObjects: 0 });
    expect(p.exists(objectFile(oldModel))).toBe(true);
    expect((await p.kd(['gc', '--json'])).json.removed.map((item: { hash: string }) => item.hash)).toEqual(expect.arrayContaining([oldModel, branchModel]));
  });
});

describe('gc --remote on a directory remote it cannot read', () => {
  it('a corrupt manifest on the remote stops gc --remote naming its key; nothing deleted', async () => {
    const p = await ranTwice();
    const remote = newRemote();
    expect((await p.kd(['remote', 'add', 'shared', remote])).code).toBe(0);
    expect((await p.kd(['push'])).code).toBe(0);
    const data = p.lock().stages.make.outs[0].hash as string;
    const key = `cache/${data.slice(0, 2)}/${data.slice(2)}`;
    // Only the remote has the manifest now, and its bytes are rotten.
    rmSync(p.path(objectFile(data)));
    chmodSync(path.join(remote, key), 0o644);
    writeFileSync(path.join(remote, key), '[{"path": "a.txt", "ha');
    const onRemote = readdirSync(path.join(remote, 'cache'), { recursive: true });
    const gc = await p.kd(['gc', '--remote', '--force']);
    expect(gc.code).toBe(1);
    expect(gc.stderr).toContain(`kd-pipeline: error: gc --remote: ${key} in ${remote}: corrupt directory manifest (`);
    expect(gc.stderr).toContain('; nothing was deleted');
    expect(readdirSync(path.join(remote, 'cache'), { recursive: true })).toEqual(onRemote);
  });

  it('stops with the folder and the reason; nothing deleted', async () => {
    const p = await ranTwice();
    const remote = newRemote();
    expect((await p.kd(['remote', 'add', 'shared', remote])).code).toBe(0);
    expect((await p.kd(['push'])).code).toBe(0);
    renameSync(path.join(remote, 'cache'), path.join(remote, 'cache.real'));
    writeFileSync(path.join(remote, 'cache'), 'not a folder\n');
    const gc = await p.kd(['gc', '--remote', '--force']);
    expect(gc.code).toBe(1);
    expect(gc.stderr).toContain(`kd-pipeline: error: gc --remote: ${path.join(remote, 'cache')}: cannot read (ENOTDIR: not a directory); nothing was deleted`);
    expect(readdirSync(path.join(remote, 'runs')).length).toBeGreaterThan(0);
  });
});
