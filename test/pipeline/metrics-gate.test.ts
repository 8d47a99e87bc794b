import { afterAll, describe, expect, it } from 'vitest';
import { Project, removeProjects } from './harness.js';

afterAll(removeProjects);

/**
 * A run with student.accuracy = a and loss = l written by `score`, and a second metrics file
 * from `side` that shares the key val_accuracy; base.lock is the lock of the first run (a=0.87,
 * l=0.3), the baseline every comparison uses (`--lock`; a git revision reads the same way).
 */
async function project(): Promise<Project> {
  const p = new Project({
    'params.yaml': 'a: 0.87\nl: 0.3\n',
    'pipeline.yaml': `stages:
  score:
    cmd: >-
      printf '{"student": {"accuracy": %s}, "teacher": {"accuracy": 0.9}, "loss": %s, "val_accuracy": 0.8}' \${a} \${l} > metrics.json
    params: [a, l]
    metrics: [metrics.json]
  side:
    cmd: >-
      printf '{"val_accuracy": 0.7}' > side.json
    metrics: [side.json]
`,
  });
  expect((await p.run()).code).toBe(0);
  p.write('base.lock', p.read('pipeline.lock'));
  return p;
}

const diff = (p: Project, ...args: string[]) => p.kd(['metrics', 'diff', '--lock', 'base.lock', ...args]);

describe.concurrent('metrics diff --fail-on', () => {
  it('fails naming the key, old, new and delta when a metric falls or rises past its delta; passes otherwise', async () => {
    const p = await project();
    expect((await p.run('--set', 'a=0.85')).code).toBe(0);

    const fell = await diff(p, '--fail-on', 'student.accuracy<-0.01');
    expect(fell.code).toBe(1);
    expect(fell.stdout).toMatch(/metrics\.json +student\.accuracy +0\.87 +0\.85 +-0\.02/);
    expect(fell.stderr).toContain('kd-pipeline: error: metrics diff: student.accuracy: 0.87 → 0.85, change -0.02 is below -0.01 (--fail-on "student.accuracy<-0.01")');
    expect(fell.stderr).toContain('kd-pipeline: error: metrics diff: 1 of 1 --fail-on checks failed against base.lock');

    const tolerated = await diff(p, '--fail-on', 'student.accuracy<-0.05', '--fail-on', 'loss>0');
    expect(tolerated.code, tolerated.stderr).toBe(0);
    expect(tolerated.stderr).toContain('kd-pipeline: metrics diff: 2 --fail-on checks passed against base.lock');

    // A change of exactly the delta is not past it (0.86 − 0.87 is -0.010000000000000009 in floating point).
    expect((await p.run('--set', 'a=0.86', '--set', 'l=0.45')).code).toBe(0);
    expect((await diff(p, '--fail-on', 'student.accuracy<-0.01')).code).toBe(0);

    // Repeatable, with --json: only the offending gates are listed under "failed".
    const json = await diff(p, '--json', '--fail-on', 'student.accuracy<-0.01', '--fail-on', 'loss>0.1', '--fail-on', 'teacher.accuracy<0', '--fail-on', 'side.json/val_accuracy<0');
    expect(json.code).toBe(1);
    expect(json.json).toEqual({
      baseline: 'base.lock',
      metrics: [
        { path: 'metrics.json', key: 'loss', old: 0.3, new: 0.45, change: 0.15 },
        { path: 'metrics.json', key: 'student.accuracy', old: 0.87, new: 0.86, change: -0.01 },
      ],
      failed: [{ expression: 'loss>0.1', key: 'loss', op: '>', delta: 0.1, path: 'metrics.json', old: 0.3, new: 0.45, change: 0.15 }],
    });
    expect(json.stderr).toContain('loss: 0.3 → 0.45, change 0.15 is above 0.1 (--fail-on "loss>0.1")');

    // A key as `exp show` and MLflow name it (`<file name>/<key>`) gates the same metric.
    expect((await diff(p, '--fail-on', 'side/val_accuracy<0')).code).toBe(0);

    const passed = await diff(p, '--json', '--fail-on', 'loss>0.2');
    expect(passed.code).toBe(0);
    expect(passed.json.failed).toEqual([]);
  });

  it('refuses a key missing on either side, a key in several files, and a malformed expression, naming the flag value', async () => {
    const p = await project();
    const refused = async (expression: string, message: string) => {
      const result = await diff(p, '--json', '--fail-on', 'teacher.accuracy<-1', '--fail-on', expression);
      expect(result.code, expression).toBe(1);
      expect(result.stdout, expression).toBe('');
      expect(result.stderr.trim(), expression).toBe(`kd-pipeline: error: metrics diff: --fail-on ${JSON.stringify(expression)}: ${message}`);
    };
    await refused('student.acc<-0.01', 'student.acc is in neither the workspace metrics nor the baseline (base.lock); `kd-pipeline metrics show` lists the keys');
    await refused('val_accuracy<0', 'val_accuracy is in several metrics files (metrics.json, side.json); name one as <file>/val_accuracy');
    for (const malformed of ['student.accuracy<<0.1', 'student.accuracy', '<0.1', 'student.accuracy<abc', 'student.accuracy=0.1', 'student.accuracy<0.1x']) {
      await refused(malformed, 'expected KEY<DELTA or KEY>DELTA, e.g. "student.accuracy<-0.01" (fails when new − old is below −0.01)');
    }

    // A metric the workspace gained since the baseline, and one it lost.
    p.write('metrics.json', '{"student": {"accuracy": 0.9, "f1": 0.8}, "teacher": {"accuracy": 0.9}, "val_accuracy": 0.8}');
    await refused('student.f1<0', 'student.f1 is missing from the baseline (base.lock), so there is nothing to compare with');
    await refused('loss>0', 'loss is missing from the workspace metrics (metrics.json)');
    // Without --fail-on, metrics diff still only reports.
    expect((await diff(p)).code).toBe(0);
  });
});
