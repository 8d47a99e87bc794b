import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { exited, Project, removeProjects, until } from './harness.js';

afterAll(removeProjects);

/**
 * One stage that holds its run until the test creates release.flag (or its project is deleted,
 * so a failed test leaves no process behind).
 */
function heldProject(): Project {
  return new Project({
    'params.yaml': '',
    'pipeline.yaml': `stages:
  slow:
    cmd: touch started.flag && while [ ! -e release.flag ] && [ -e started.flag ]; do sleep 0.05; done && echo done > slow.txt
    outs: [slow.txt]
`,
  });
}

describe.concurrent('runs in time: run lock, interrupts, parallel stages', () => {
  it('a second concurrent run fails at once naming the other pid; --wait waits for it', async () => {
    const p = heldProject();
    const first = p.spawn(['run']);
    await until(() => p.exists('started.flag'), 'the first run to start its stage');
    const second = await p.kd(['run']);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`kd-pipeline: error: another kd-pipeline run (pid ${first.pid}) is running in ${p.dir}; wait for it to finish or pass --wait`);
    expect(first.exitCode).toBeNull();

    const waiting = p.spawn(['run', '--wait', '--json']);
    await until(() => waiting.output().includes(`waiting for the run in progress (pid ${first.pid}) to finish`), 'the --wait run to wait');
    expect(waiting.exitCode).toBeNull();
    p.write('release.flag', '');
    expect(await exited(first)).toBe(0);
    expect(await exited(waiting)).toBe(0);
    const report = JSON.parse(waiting.output().split('\n').find((line) => line.startsWith('{"runId"')) as string);
    expect(report.stages).toEqual([{ name: 'slow', result: 'skipped', seconds: expect.any(Number) }]);
    expect(p.exists('.kd/run.lock')).toBe(false);
  });

  it('gc does not delete while a run is in progress (it could remove objects not yet in the lock); --dry-run still reports', async () => {
    const p = heldProject();
    // A first run writes pipeline.lock (gc refuses without one); the second is held.
    p.write('release.flag', '');
    expect((await p.run()).code).toBe(0);
    p.remove('release.flag');
    p.remove('started.flag');
    const run = p.spawn(['run', '-f']);
    await until(() => p.exists('started.flag'), 'the run to start its stage');
    const gc = await p.kd(['gc']);
    expect(gc.code).toBe(1);
    expect(gc.stderr).toContain(`kd-pipeline: error: another kd-pipeline run (pid ${run.pid}) is running in ${p.dir}`);
    expect((await p.kd(['gc', '--dry-run', '--json'])).json).toMatchObject({ removedObjects: 0, dryRun: true });
    const waiting = p.spawn(['gc', '--wait', '--json']);
    await until(() => waiting.output().includes(`(pid ${run.pid})`), 'gc --wait to wait');
    p.write('release.flag', '');
    expect(await exited(run)).toBe(0);
    expect(await exited(waiting)).toBe(0);
    expect(JSON.parse(waiting.output().split('\n').find((line) => line.startsWith('{')) as string)).toMatchObject({ removedObjects: 0, keptObjects: 1 });
    expect(p.exists('.kd/run.lock')).toBe(false);
  });

  it('a run lock left by a process that no longer exists is taken over', async () => {
    const p = new Project({
      'params.yaml': '',
      'pipeline.yaml': 'stages:\n  one:\n    cmd: echo 1 > one.txt\n    outs: [one.txt]\n',
    });
    const gone = p.spawn(['--version']);
    expect(await exited(gone)).toBe(0);
    p.write('.kd/run.lock', String(gone.pid));
    const r = await p.run();
    expect(r.code).toBe(0);
    expect(r.results).toEqual({ one: 'ran' });
    expect(p.exists('.kd/run.lock')).toBe(false);
  });

  it.for([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s mid-stage kills the stage, exits 128 + signal number and leaves lock and cache consistent; a rerun completes', async ([signal, code]) => {
    const p = new Project({
      'params.yaml': '',
      'pipeline.yaml': `stages:
  first:
    cmd: echo one > first.txt
    outs: [first.txt]
  second:
    cmd: echo marker-start && echo partial > second.txt && sleep 2 && touch never.txt && echo whole > second.txt
    deps: [first.txt]
    outs: [second.txt]
  third:
    cmd: echo three > third.txt
    deps: [first.txt]
    outs: [third.txt]
`,
    });
    const run = p.spawn(['run', '--jobs', '1', '--json']);
    await until(() => run.output().includes('[second] marker-start'), 'the second stage to start');
    run.kill(signal);
    const exitCode = await exited(run);
    expect(exitCode).toBe(code);
    expect(run.output()).toContain('interrupted; stopping running stages');
    const report = JSON.parse(run.output().split('\n').find((line) => line.startsWith('{"runId"')) as string);
    // third was queued behind second (--jobs 1) and is not started once interrupted.
    expect(report.stages.map((s: { name: string; result: string }) => [s.name, s.result])).toEqual([
      ['first', 'ran'],
      ['second', 'failed'],
      ['third', 'not-run'],
    ]);

    expect(Object.keys(p.lock().stages)).toEqual(['first']);
    expect(p.files().filter((f) => f.includes('.tmp-'))).toEqual([]);
    expect(p.exists('.kd/run.lock')).toBe(false);
    await sleep(2200);
    expect(p.exists('never.txt')).toBe(false);

    const rerun = await p.run();
    expect(rerun.code).toBe(0);
    expect(rerun.results).toEqual({ first: 'skipped', second: 'ran', third: 'ran' });
    expect(p.read('second.txt')).toBe('whole\n');
    expect((await p.kd(['status', '--check'])).code).toBe(0);
  });

  it('independent stages overlap in time with --jobs 2 and do not with --jobs 1', async () => {
    const stage = (name: string) => `  ${name}:
    cmd: date +%s%N > ${name}.times && sleep 0.8 && date +%s%N >> ${name}.times
    outs: [${name}.times]
`;
    const p = new Project({ 'params.yaml': '', 'pipeline.yaml': `stages:\n${stage('a')}${stage('b')}` });
    const interval = (name: string): [bigint, bigint] => {
      const [start, end] = p.read(`${name}.times`).trim().split('\n').map(BigInt);
      return [start as bigint, end as bigint];
    };
    const overlap = (): boolean => {
      const [a0, a1] = interval('a');
      const [b0, b1] = interval('b');
      return a0 < b1 && b0 < a1;
    };
    expect((await p.run('--jobs', '2')).results).toEqual({ a: 'ran', b: 'ran' });
    expect(overlap()).toBe(true);
    expect((await p.run('--jobs', '1', '--force')).results).toEqual({ a: 'ran', b: 'ran' });
    expect(overlap()).toBe(false);
  });
});
