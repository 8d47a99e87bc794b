import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exited, Project, removeProjects } from './harness.js';

afterAll(removeProjects);

const RACERS = Number(process.env.KD_RUN_LOCK_RACERS ?? 50);

/** Holders that began while another had not ended yet, from `begin <run>` / `end <run>` lines. */
function interleavings(lines: string[]): { holders: number; overlaps: number; maxAtOnce: number } {
  const open = new Set<string>();
  let holders = 0;
  let overlaps = 0;
  let maxAtOnce = 0;
  for (const line of lines) {
    const [what, run] = line.split(' ') as [string, string];
    if (what === 'begin') {
      holders += 1;
      if (open.size > 0) overlaps += 1;
      open.add(run);
      maxAtOnce = Math.max(maxAtOnce, open.size);
    } else open.delete(run);
  }
  return { holders, overlaps, maxAtOnce };
}

describe('the run lock under a race', () => {
  it(`${RACERS} processes racing with run -f --wait over a stale lock: exactly one holds it at any moment`, { timeout: 300_000 }, async () => {
    // The stage writes begin/end lines naming its run into a file that is no out of the stage.
    const p = new Project({
      'params.yaml': '',
      'pipeline.yaml': `stages:
  hold:
    cmd: echo "begin $KD_RUN_ID" >> holders.log && sleep 0.02 && echo "end $KD_RUN_ID" >> holders.log && echo "$KD_RUN_ID" > held.txt
    outs: [held.txt]
`,
    });
    // A lock left by a process that is gone: every racer finds it stale at first, one takes it over.
    const gone = p.spawn(['--version']);
    expect(await exited(gone)).toBe(0);
    p.write('.kd/run.lock', String(gone.pid));

    const began = performance.now();
    const racers = Array.from({ length: RACERS }, () => p.spawn(['run', '-f', '--wait', '--json']));
    const codes = await Promise.all(racers.map((racer) => exited(racer)));
    const seconds = (performance.now() - began) / 1000;
    const failed = racers.flatMap((racer, i) => (codes[i] === 0 ? [] : [`exit ${codes[i]}: ${racer.output()}`]));
    const lines = p.read('holders.log').trim().split('\n');
    const figures = interleavings(lines);
    process.stderr.write(`run lock race: ${RACERS} processes, ${figures.holders} holders, ${figures.overlaps} interleavings, at most ${figures.maxAtOnce} at once, ${failed.length} failed, ${seconds.toFixed(1)} s\n`);
    expect(failed).toEqual([]);
    expect(figures).toEqual({ holders: RACERS, overlaps: 0, maxAtOnce: 1 });
    expect(lines).toHaveLength(2 * RACERS);
    // Nothing left behind: no lock, no takeover claim, no temp pid file.
    expect(p.files('.kd').filter((f) => f.startsWith('.kd/run.lock'))).toEqual([]);
  });

  it('16 processes taking the lock 150 times each, a third of them dying once while holding it: never two holders', { timeout: 120_000 }, async () => {
    // The lock itself without the CLI around it, so that thousands of takes and several stale-lock
    // takeovers under contention fit in seconds (the lock as it was on main overlapped 1321 times in 1791).
    const p = new Project({});
    const worker = path.join(import.meta.dirname, 'lock-worker.mjs');
    const racers = Array.from({ length: 16 }, (_, i) => spawn('node', [worker, p.path('run.lock'), p.path('log'), '150', String(i % 3 === 0 ? 40 + i : -1)], { stdio: 'inherit' }));
    expect(await Promise.all(racers.map((racer) => exited(racer)))).toEqual(racers.map(() => 0));
    const figures = interleavings(p.read('log').trim().split('\n'));
    expect(figures).toMatchObject({ overlaps: 0, maxAtOnce: 1 });
    // 6 racers died after 41 + … takes; everyone else took all 150.
    expect(figures.holders).toBe(10 * 150 + [0, 3, 6, 9, 12, 15].reduce((sum, i) => sum + 41 + i, 0));
    // No lock, takeover claim or temp pid file left behind.
    expect(readdirSync(p.dir)).toEqual(['log']);
  });

  it('a lock file without a pid (left by an older version killed at the wrong moment) is taken over', async () => {
    const p = new Project({
      'params.yaml': '',
      'pipeline.yaml': 'stages:\n  one:\n    cmd: echo 1 > one.txt\n    outs: [one.txt]\n',
    });
    p.write('.kd/run.lock', '');
    const r = await p.run();
    expect(r.results).toEqual({ one: 'ran' });
    expect(p.exists('.kd/run.lock')).toBe(false);
  });
});
