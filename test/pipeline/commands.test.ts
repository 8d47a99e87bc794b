import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { chainProject, Project, removeProjects } from './harness.js';

async function git(p: Project, ...args: string[]): Promise<void> {
  await execa('git', ['-c', 'user.name=kd test', '-c', 'user.email=kd@test.invalid', '-c', 'init.defaultBranch=main', ...args], { cwd: p.dir });
}

/** A metrics stage reading param a, and a copy stage whose output does not depend on its param p. */
function metricsProject(): Project {
  return new Project({
    'params.yaml': 'a: 1\np: 1\n',
    'in.txt': 'data\n',
    'pipeline.yaml': `stages:
  score:
    cmd: >-
      echo score >> ran.log && printf '{"acc": %s, "nested": {"loss": 0.5, "ok": true}}' \${a} > metrics.json
    params: [a]
    metrics: [metrics.json]
  copy:
    cmd: echo copy >> ran.log && cat in.txt > copy.txt
    deps: [in.txt]
    params: [p]
    outs: [copy.txt]
`,
  });
}

afterAll(removeProjects);

describe.concurrent('status, dag, params, metrics, gc', () => {
  it('status --check exits 1 while a stage would run and 0 once up to date', async () => {
    const p = chainProject();
    const before = await p.kd(['status', '--check']);
    expect(before.code).toBe(1);
    expect(before.stdout).toContain('up: changed\n    never ran');
    expect(before.stdout).toContain('3 of 3 stages changed');
    await p.run();
    const after = await p.kd(['status', '--check']);
    expect(after.code).toBe(0);
    expect(after.stdout).toContain('pipeline is up to date');
    p.write('side.txt', 'other\n');
    expect((await p.kd(['status', '--check'])).code).toBe(1);
    // Without --check, an out-of-date pipeline is not an error.
    expect((await p.kd(['status'])).code).toBe(0);
  });

  it('dag --json, --dot and --mermaid', async () => {
    const p = chainProject();
    p.write('pipeline.yaml', p.read('pipeline.yaml').replace('  side:\n', '  side:\n    desc: independent\n'));
    const json = await p.kd(['dag', '--json']);
    expect(json.code).toBe(0);
    expect(json.json).toEqual({
      stages: [
        { name: 'up', desc: null, upstream: [] },
        { name: 'down', desc: null, upstream: ['up'] },
        { name: 'side', desc: 'independent', upstream: [] },
      ],
      edges: [{ from: 'up', to: 'down' }],
    });
    expect((await p.kd(['dag', '--dot'])).stdout).toBe('digraph pipeline {\n  "up";\n  "down";\n  "side";\n  "up" -> "down";\n}');
    expect((await p.kd(['dag', '--mermaid'])).stdout).toBe('flowchart TD\n  s0["up"]\n  s1["down"]\n  s2["side"]\n  s0 --> s1');
    const both = await p.kd(['dag', '--dot', '--json']);
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('choose one of --json, --dot, --mermaid');
  });

  it('params diff --json lists the declared params that differ from the lock, leaf by leaf', async () => {
    const p = new Project({
      'params.yaml': 'a: 1\nnested:\n  x: 1\n  y: [1, 2]\nunused: 0\n',
      'other.yaml': 'k: v\n',
      'pipeline.yaml': `stages:
  one:
    cmd: echo > one.txt
    params: [a, nested, {other.yaml: [k]}]
    outs: [one.txt]
`,
    });
    const fresh = await p.kd(['params', 'diff', '--json']);
    expect(fresh.json.params).toContainEqual({ file: 'params.yaml', key: 'nested.x', old: null, new: 1 });
    await p.run();
    expect((await p.kd(['params', 'diff', '--json'])).json).toEqual({ params: [] });
    expect((await p.kd(['params', 'diff'])).stdout).toBe('no params changed since pipeline.lock');
    p.write('params.yaml', 'a: 1\nnested:\n  x: 2\n  y: [1, 3]\nunused: 9\n');
    p.write('other.yaml', 'k: w\n');
    expect((await p.kd(['params', 'diff', '--json'])).json).toEqual({
      params: [
        { file: 'params.yaml', key: 'nested.x', old: 1, new: 2 },
        { file: 'params.yaml', key: 'nested.y', old: [1, 2], new: [1, 3] },
        { file: 'other.yaml', key: 'k', old: 'v', new: 'w' },
      ],
    });
    const all = await p.kd(['params', 'diff', '--json', '--all']);
    expect(all.json.params).toContainEqual({ file: 'params.yaml', key: 'a', old: 1, new: 1 });
  });

  it('metrics show --json, and metrics diff --json against the lock committed at git HEAD', async () => {
    const p = metricsProject();
    await p.run();
    expect((await p.kd(['metrics', 'show', '--json'])).json).toEqual({ metrics: { 'metrics.json': { acc: 1, 'nested.loss': 0.5, 'nested.ok': 1 } } });
    expect(p.lock().stages.score.metrics).toEqual({ 'metrics.json': { acc: 1, 'nested.loss': 0.5, 'nested.ok': 1 } });
    // Metrics files are not cached by default, and the lock says so.
    expect(p.lock().stages.score.outs).toEqual([{ path: 'metrics.json', hash: expect.stringMatching(/^[0-9a-f]{32}$/), size: expect.any(Number), cache: false }]);

    const noGit = await p.kd(['metrics', 'diff', '--json']);
    expect(noGit.code).toBe(1);
    expect(noGit.stderr).toMatch(/kd-pipeline: error: metrics diff: no pipeline\.lock committed at HEAD \(.+\); commit the lock after a run, or compare with --lock <file>/);

    await git(p, 'init', '-q');
    await git(p, 'add', 'pipeline.yaml', 'params.yaml', 'pipeline.lock');
    await git(p, 'commit', '-q', '-m', 'baseline');
    expect((await p.kd(['metrics', 'diff', '--json'])).json).toEqual({ baseline: 'HEAD', metrics: [], failed: [] });
    expect((await p.run('--set', 'a=1.25')).results.score).toBe('ran');
    expect((await p.kd(['metrics', 'diff', '--json'])).json).toEqual({
      baseline: 'HEAD',
      metrics: [{ path: 'metrics.json', key: 'acc', old: 1, new: 1.25, change: 0.25 }],
      failed: [],
    });
    // The same comparison against a lock file given by path.
    const committed = await execa('git', ['show', 'HEAD:pipeline.lock'], { cwd: p.dir });
    p.write('old.lock', committed.stdout);
    const byFile = await p.kd(['metrics', 'diff', '--json', '--lock', 'old.lock']);
    expect(byFile.json.metrics).toEqual([{ path: 'metrics.json', key: 'acc', old: 1, new: 1.25, change: 0.25 }]);
  });

  it('gc --dry-run reports, gc removes unreferenced objects and their run-cache entries; referenced ones keep restoring', async () => {
    const p = metricsProject();
    await p.run();
    const oldScore = p.lock().stages.score.outs[0].hash as string;
    await p.run('--set', 'a=2', '--set', 'p=2');
    expect([p.runs('score'), p.runs('copy')]).toEqual([2, 2]);
    const objectFile = `.kd/cache/${oldScore.slice(0, 2)}/${oldScore.slice(2)}`;
    expect(p.exists(objectFile)).toBe(true);

    const before = p.files().sort();
    const dry = await p.kd(['gc', '--dry-run', '--json']);
    expect(dry.code).toBe(0);
    // The a=1 metrics file, and the run-cache entry of score with a=1 that needed it.
    const lock = p.lock().stages;
    expect(dry.json).toEqual({
      removedObjects: 1,
      removedBytes: expect.any(Number),
      keptObjects: 2,
      removedRuns: 1,
      dryRun: true,
      kept: expect.arrayContaining([
        { hash: lock.score.outs[0].hash, size: expect.any(Number), by: 'pipeline.lock: score → metrics.json' },
        { hash: lock.copy.outs[0].hash, size: 5, by: 'pipeline.lock: copy → copy.txt' },
      ]),
      removed: [{ hash: oldScore, size: dry.json.removedBytes }],
      removedRunEntries: [expect.stringMatching(/^[0-9a-f]{32}$/)],
    });
    expect(dry.json.removedBytes).toBeGreaterThan(0);
    // The text form lists the same, one object per line.
    const text = await p.kd(['gc', '--dry-run']);
    expect(text.stdout.split('\n')).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^keep    ${lock.copy.outs[0].hash} +5 B  pipeline\\.lock: copy → copy\\.txt$`)),
        expect.stringMatching(new RegExp(`^remove  ${oldScore} +\\d+ B$`)),
        `remove  run-cache entry ${dry.json.removedRunEntries[0]}`,
        expect.stringMatching(/^would remove 1 cache objects/),
      ]),
    );
    expect(p.files().sort()).toEqual(before);

    const gc = await p.kd(['gc']);
    expect(gc.code).toBe(0);
    expect(gc.stdout).toMatch(/^removed 1 cache objects \(0\.0 MB\) and 1 run-cache entries; kept 2 objects$/);
    expect(p.exists(objectFile)).toBe(false);
    expect((await p.kd(['gc', '--json'])).json).toMatchObject({ removedObjects: 0, removedRuns: 0, keptObjects: 2 });

    // copy with p=1 produced the same (still referenced) object: its run-cache entry still restores.
    expect((await p.run('--set', 'p=1')).results).toEqual({ score: 'skipped', copy: 'restored' });
    // score with a=1 lost its object, so it runs again.
    expect((await p.run('--set', 'a=1')).results).toEqual({ score: 'ran', copy: 'skipped' });
    expect([p.runs('score'), p.runs('copy')]).toEqual([3, 2]);
    // A deleted out whose object gc kept is restored from the cache.
    p.remove('copy.txt');
    expect((await p.run()).results.copy).toBe('restored');
    expect(p.read('copy.txt')).toBe('data\n');
  });
});
