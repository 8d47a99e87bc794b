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
