import { afterAll, describe, expect, it } from 'vitest';
import { distillProject, expectedAccuracy } from './experiment-project.js';
import { exited, removeProjects, until } from './harness.js';

afterAll(removeProjects);

const SWEEP = ['-S', 'student.temperature=2,4', '-S', 'student.alpha=0.3,0.7'];

describe('exp run / show / apply', () => {
  it('runs a 2×2 sweep with --jobs 2 where the teacher runs once; show, apply, gc and remove', async () => {
    const p = distillProject();
    const params = p.read('params.yaml');
    const run = await p.kd(['exp', 'run', ...SWEEP, '--jobs', '2', '--name', 'grid', '--sort-by', 'student.accuracy', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/best grid\.\d student\.accuracy=/);
    expect(run.json.experiments).toHaveLength(4);
    // Both first trials needed the new teacher stage together: one ran it, everyone else restored it.
    expect(p.runs('teacher')).toBe(1);
    expect(p.runs('student')).toBe(4);
    const teacherResults = run.json.experiments.map((e: any) => e.stages.teacher).sort();
    expect(teacherResults).toEqual(['ran', 'restored', 'restored', 'restored']);
    // The workspace is untouched.
    expect(p.read('params.yaml')).toBe(params);
    expect(p.exists('pipeline.lock') || p.exists('teacher.txt') || p.exists('metrics.json')).toBe(false);

    const show = await p.kd(['exp', 'show', '--json']);
    expect(show.code, show.stderr).toBe(0);
    const rows = show.json.experiments;
    expect(rows.map((r: any) => r.id)).toEqual(['workspace', 'grid.1', 'grid.2', 'grid.3', 'grid.4']);
    expect(rows[0]).toMatchObject({ sweep: '', status: 'ok', params: { 'student.temperature': 2, 'student.alpha': 0.5 }, metrics: {}, stages: { teacher: 'not-run', student: 'not-run' } });
    for (const row of rows.slice(1)) {
      expect(Object.keys(row).sort()).toEqual(['id', 'metrics', 'params', 'seconds', 'stages', 'status', 'sweep']);
      expect(row).toMatchObject({ sweep: 'grid', status: 'ok', stages: { student: 'ran' } });
      expect(row.metrics['student.accuracy']).toBeCloseTo(expectedAccuracy(row.params['student.temperature'], row.params['student.alpha']), 10);
    }
    expect(rows[1].params).toEqual({ 'student.temperature': 2, 'student.alpha': 0.3 });
    const sorted = await p.kd(['exp', 'show', 'grid', '--json', '--sort-by', 'student.accuracy']);
    expect(sorted.json.experiments.map((r: any) => r.id).slice(0, 2)).toEqual(['workspace', 'grid.4']);
    const csv = await p.kd(['exp', 'show', '--csv', '--only-changed']);
    expect(csv.stdout.split('\n')[0]).toBe('id,sweep,status,time,student.temperature,student.alpha,student.accuracy');
    expect((await p.kd(['exp', 'show', '--md'])).stdout).toMatch(/^\| id \| sweep \|/);

    // gc refuses while the workspace has no pipeline.lock; apply checks the best trial out without running anything.
    const refused = await p.kd(['gc']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('there is no pipeline.lock');
    const ran = p.read('ran.log');
    const apply = await p.kd(['exp', 'apply', 'grid.4']);
    expect(apply.code, apply.stderr).toBe(0);
    expect(p.read('params.yaml')).toBe(params.replace('temperature: 2 #', 'temperature: 4 #').replace('alpha: 0.5', 'alpha: 0.7'));
    const status = await p.kd(['status', '--check']);
    expect(status.code, status.stdout).toBe(0);
    expect(p.read('ran.log')).toBe(ran);
    expect(JSON.parse(p.read('metrics.json')).student.accuracy).toBeCloseTo(1, 10);
    expect((await p.run()).results).toEqual({ teacher: 'skipped', student: 'skipped' });
    // gc keeps what the trials reference, naming the trial's lock.
    expect((await p.kd(['gc'])).code).toBe(0);
    const kept = (await p.kd(['gc', '--dry-run', '--json'])).json;
    expect(kept.removedObjects).toBe(0);
    expect(kept.kept.map((item: { by: string }) => item.by)).toContainEqual(expect.stringMatching(/^\.kd\/exp\/grid\/1\/pipeline\.lock: student → /));

    const removed = await p.kd(['exp', 'remove', 'grid.1', '--json']);
    expect(removed.json).toEqual({ removed: ['grid.1'] });
    expect((await p.kd(['exp', 'remove', '--all', '--json'])).json).toEqual({ removed: ['grid.2', 'grid.3', 'grid.4'] });
    expect(p.exists('.kd/exp/grid')).toBe(false);
  });

  it('records a failing trial and goes on; apply refuses it and writes nothing', async () => {
    const p = distillProject({ studentCmd: 'test ${student.alpha} != 0.9' });
    const run = await p.kd(['exp', 'run', '-S', 'student.alpha=0.9,0.7', '--json']);
    expect(run.code).toBe(1);
    const [bad, good] = run.json.experiments;
    expect(bad).toMatchObject({ id: 'sweep-1.1', status: 'failed', stages: { teacher: 'ran', student: 'failed' } });
    expect(good).toMatchObject({ id: 'sweep-1.2', status: 'ok', stages: { teacher: 'restored', student: 'ran' } });
    expect(run.stderr).toMatch(/✖ sweep-1\.1 failed: stage 'student' failed: exit code 1/);
    const params = p.read('params.yaml');
    const apply = await p.kd(['exp', 'apply', 'sweep-1.1']);
    expect(apply.code).toBe(1);
    expect(apply.stderr).toMatch(/exp apply: sweep-1\.1 failed \(stage 'student' failed: exit code 1\); only a trial that completed can be applied/);
    expect(p.read('params.yaml')).toBe(params);
    expect(p.exists('pipeline.lock')).toBe(false);
    expect((await p.kd(['exp', 'apply', 'sweep-9.1'])).stderr).toMatch(/no experiment 'sweep-9\.1'/);
  });

  it('Ctrl-C stops every trial, records them, and leaves nothing half-written', async () => {
    const p = distillProject({ studentCmd: 'sleep 30' });
    const child = p.spawn(['exp', 'run', '-S', 'student.alpha=0.1,0.2,0.3', '--jobs', '2']);
    await until(() => p.exists('.kd/exp/sweep-1/2/.kd/trial.json') && p.runs('teacher') === 1 && /▶ sweep-1\.2/.test(child.output()), 'two trials running');
    await new Promise((resolve) => setTimeout(resolve, 700));
    const started = Date.now();
    child.kill('SIGINT');
    expect(await exited(child)).toBe(130);
    expect(Date.now() - started).toBeLessThan(10_000);
    const show = await p.kd(['exp', 'show', '--json']);
    const trials = show.json.experiments.slice(1);
    expect(trials.map((t: any) => [t.id, t.status])).toEqual([
      ['sweep-1.1', 'failed'],
      ['sweep-1.2', 'failed'],
    ]);
    expect(p.runs('student')).toBe(0);
    expect(p.files().filter((f) => /\.tmp-|\.claim$/.test(f))).toEqual([]);
    expect(p.exists('pipeline.lock')).toBe(false);
  });

  it('refuses bad -S flags and unknown keys with one message, writing nothing; warns about a key no stage declares', async () => {
    const p = distillProject();
    const cases: [string[], RegExp][] = [
      [['-S', 'student.alpha=0.1', '-S', 'student.temperature'], /-S #2 \(student\.temperature\): expected key=value/],
      [['-S', 'student.alpha=0.1,[0.2'], /-S #1 \(student\.alpha=0\.1,\[0\.2\): unclosed '\['/],
      [['-S', 'student.alpha=range(0, 1, x)'], /-S #1 \(student\.alpha=range\(0, 1, x\)\): range\(\) expects numbers, got 'x' at character 27/],
      [['-S', 'student.alpha=0.1,,0.2'], /-S #1 .*: empty value at character 19/],
      [['-S', 'student.alpah=0.1,0.2'], /-S #1 \(student\.alpah=0\.1,0\.2\): 'student\.alpah' is not a key of params\.yaml/],
      [[], /nothing to sweep/],
    ];
    for (const [flags, message] of cases) {
      const r = await p.kd(['exp', 'run', ...flags]);
      expect(r.code, flags.join(' ')).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
    expect(p.exists('.kd')).toBe(false);
    const inert = await p.kd(['exp', 'run', '-S', 'unused=1,2']);
    expect(inert.code).toBe(0);
    expect(inert.stderr).toMatch(/-S #1 \(unused=1,2\): no stage declares 'unused'.*identical/);
    expect(inert.stderr).toMatch(/every trial of this sweep would be identical/);
    expect(p.runs('student')).toBe(1);
  });

  it('draws --random N trials reproducibly with --seed, over range() and choice()', async () => {
    const p = distillProject();
    const flags = ['-S', 'student.temperature=range(1, 5)', '-S', 'student.alpha=choice(0.1, 0.4, 0.7)', '--random', '3', '--seed', '7', '--json'];
    const a = await p.kd(['exp', 'run', ...flags]);
    const b = await p.kd(['exp', 'run', ...flags]);
    expect(a.code, a.stderr).toBe(0);
    const params = (r: typeof a) => r.json.experiments.map((e: any) => e.params);
    expect(params(a)).toHaveLength(3);
    expect(params(a)).toEqual(params(b));
    for (const pr of params(a)) {
      expect([1, 2, 3, 4]).toContain(pr['student.temperature']);
      expect([0.1, 0.4, 0.7]).toContain(pr['student.alpha']);
    }
    expect(new Set(params(a).map((pr: any) => JSON.stringify(pr))).size).toBe(3);
    // The second sweep restored every stage the first one ran.
    expect(b.json.experiments.every((e: any) => e.stages.student === 'restored')).toBe(true);
  });
});
