import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { exited, Project, removeProjects, until } from './harness.js';

afterAll(removeProjects);

/** Whether `pid` is a live process (a zombie waiting for its reaper counts as dead). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe('a stage never outlives the run that started it', () => {
  it('SIGKILL of `kd-pipeline run` ends the running stage and everything it started; it never writes its outs; the next run takes over', async () => {
    const p = new Project({
      'params.yaml': '',
      // The stage's shell, and a background child of it: both must end with the runner.
      'pipeline.yaml': `stages:
  slow:
    cmd: echo $$ > shell.pid; if [ ! -e release.flag ]; then sleep 60 > /dev/null 2>&1 & echo $! > child.pid; fi; while [ ! -e release.flag ] && [ -e shell.pid ]; do sleep 0.05; done; echo done > slow.txt
    outs: [slow.txt]
`,
    });
    const run = p.spawn(['run']);
    await until(() => p.exists('shell.pid') && p.exists('child.pid') && p.read('child.pid').trim() !== '', 'the stage to start');
    const pids = [Number(p.read('shell.pid')), Number(p.read('child.pid'))];
    expect(pids.every(alive)).toBe(true);
    run.kill('SIGKILL');
    await exited(run);
    await until(() => !pids.some(alive), 'the stage processes to end after the runner was killed', 15_000);
    p.write('release.flag', '');
    await sleep(500);
    expect(p.exists('slow.txt')).toBe(false);
    expect(p.exists('pipeline.lock')).toBe(false);

    const rerun = await p.run();
    expect(rerun.code).toBe(0);
    expect(rerun.results).toEqual({ slow: 'ran' });
    expect(p.read('slow.txt')).toBe('done\n');
  });

  it('a stage killed by a signal is still reported as killed by it, and its exit code passes through', async () => {
    const p = new Project({
      'params.yaml': '',
      'pipeline.yaml': `stages:
  killed:
    cmd: kill -TERM $$
    outs: [k.txt]
  failing:
    cmd: exit 3
    outs: [f.txt]
`,
    });
    const r = await p.run('--keep-going');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("stage 'killed' failed: killed by SIGTERM");
    expect(r.stderr).toContain("stage 'failing' failed: exit code 3");
  });
});
