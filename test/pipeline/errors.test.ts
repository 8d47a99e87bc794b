import { afterAll, describe, expect, it } from 'vitest';
import { Project, removeProjects } from './harness.js';

/** A project whose pipeline.yaml is `yaml`, with params.yaml `a: 1` and an input file. */
function withPipeline(yaml: string): Project {
  return new Project({ 'params.yaml': 'a: 1\n', 'in.txt': 'x\n', 'pipeline.yaml': yaml });
}

/** Every command that loads the pipeline must refuse it with the same clear message. */
async function expectRejected(p: Project, message: string | RegExp): Promise<void> {
  for (const args of [['run'], ['status'], ['dag']]) {
    const r = await p.kd(args);
    expect(r.code, `${args[0]}: ${r.stderr}`).toBe(1);
    expect(r.stderr).toMatch(/^kd-pipeline: error: /);
    expect(r.stderr).not.toContain('internal error');
    expect(r.stderr).toMatch(message);
  }
  expect(p.exists('pipeline.lock')).toBe(false);
}

afterAll(removeProjects);

describe.concurrent('invalid pipelines are refused with a clear error', () => {
  it('a cycle, printing it', async () => {
    const p = withPipeline(`stages:
  a:
    cmd: cat c.txt > a.txt
    deps: [c.txt]
    outs: [a.txt]
  b:
    cmd: cat a.txt > b.txt
    deps: [a.txt]
    outs: [b.txt]
  c:
    cmd: cat b.txt > c.txt
    deps: [b.txt]
    outs: [c.txt]
`);
    await expectRejected(p, /the stages form a cycle: (a → b → c → a|b → c → a → b|c → a → b → c)/);
  });

  it('an out declared by two stages', async () => {
    const p = withPipeline(`stages:
  one:
    cmd: echo 1 > out.txt
    outs: [out.txt]
  two:
    cmd: echo 2 > out.txt
    outs: [out.txt]
`);
    await expectRejected(p, "stages.two.outs: output 'out.txt' is declared also by stage 'one'");
  });

  it('a dep that does not exist and that no stage produces', async () => {
    const p = withPipeline(`stages:
  one:
    cmd: cat nowhere.txt > out.txt
    deps: [nowhere.txt]
    outs: [out.txt]
`);
    await expectRejected(p, "stages.one.deps[0]: 'nowhere.txt' does not exist and no stage produces it");
  });

  it('a params key that is not in params.yaml (or in the named file)', async () => {
    const p = withPipeline(`stages:
  one:
    cmd: echo > out.txt
    params: [a, model.width]
    outs: [out.txt]
`);
    await expectRejected(p, "stages.one.params[1]: 'model.width' is not a key of params.yaml");
    p.write('extra.yaml', 'k: 1\n');
    p.write('pipeline.yaml', p.read('pipeline.yaml').replace('[a, model.width]', '[{extra.yaml: [k, j]}]'));
    await expectRejected(p, "stages.one.params[0]: 'j' is not a key of extra.yaml");
  });

  it('an unknown ${key} in cmd', async () => {
    const p = withPipeline(`stages:
  one:
    cmd: echo \${missing} > out.txt
    outs: [out.txt]
`);
    await expectRejected(p, 'stages.one.cmd: ${missing} is not a key of params.yaml');
  });

  it('an unknown field, naming it', async () => {
    const p = withPipeline(`stages:
  one:
    cmd: echo > out.txt
    output: [out.txt]
`);
    await expectRejected(p, /pipeline\.yaml: stages\.one: Unrecognized key: "output"/);
  });

  it('malformed YAML, with file:line', async () => {
    const p = withPipeline('stages:\n  one:\n    cmd: [echo\n    outs: x\n');
    await expectRejected(p, /pipeline\.yaml:\d+:\d+: malformed YAML/);
    const q = withPipeline('stages:\n  one:\n    cmd: echo > out.txt\n    outs: [out.txt]\n');
    q.write('params.yaml', 'a: 1\nb: [unclosed\n');
    const r = await q.kd(['run']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/params\.yaml:\d+:\d+: malformed YAML/);
  });

  it('no pipeline.yaml at all', async () => {
    const p = new Project({ 'params.yaml': '' });
    const r = await p.kd(['status']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no pipeline.yaml found');
  });
});

describe.concurrent('a failing stage', () => {
  // fail and ok are independent; after depends on fail. slow keeps running while fail fails.
  const pipeline = `stages:
  fail:
    cmd: echo fail >> ran.log && seq 1 25 && exit 3
    deps: [in.txt]
    outs: [fail.txt]
  after:
    cmd: echo after >> ran.log && cat fail.txt > after.txt
    deps: [fail.txt]
    outs: [after.txt]
  slow:
    cmd: echo slow >> ran.log && sleep 0.5 && echo ok > slow.txt
    outs: [slow.txt]
  later:
    cmd: echo later >> ran.log && cat slow.txt > later.txt
    deps: [slow.txt]
    outs: [later.txt]
`;

  it('stops its dependents, lets running siblings finish and commits them, names the stage and shows its log tail', async () => {
    const p = withPipeline(pipeline);
    const r = await p.run('--jobs', '2');
    expect(r.code).toBe(1);
    expect(r.results.fail).toBe('failed');
    expect(r.results.after).toBe('not-run');
    expect(r.results.slow).toBe('ran');
    // Scheduling stops after a failure: a stage that had not started is not started.
    expect(r.results.later).toBe('not-run');
    expect(p.runs('later')).toBe(0);
    expect(r.stderr).toContain("kd-pipeline: error: stage 'fail' failed: exit code 3");
    // The last 20 lines of the stage's log, which keeps all of them.
    const tail = Array.from({ length: 20 }, (_, i) => `    ${i + 6}`).join('\n');
    expect(r.stderr).toContain(`failed: exit code 3\n  last lines of .kd/logs/fail/${r.json.runId}.log:\n${tail}`);
    expect(r.stderr).not.toMatch(/^ {4}5$/m);
    expect(p.read(`.kd/logs/fail/${r.json.runId}.log`)).toBe(Array.from({ length: 25 }, (_, i) => `${i + 1}\n`).join(''));
    const lock = p.lock();
    expect(Object.keys(lock.stages)).toEqual(['slow']);
    expect(p.read('slow.txt')).toBe('ok\n');

    // The next run picks up where it stopped.
    p.write('pipeline.yaml', p.read('pipeline.yaml').replace('&& exit 3', '&& echo fixed > fail.txt'));
    expect((await p.run()).results).toEqual({ fail: 'ran', after: 'ran', slow: 'skipped', later: 'ran' });
  });

  it('--keep-going runs every branch that does not depend on it', async () => {
    const p = withPipeline(pipeline);
    const r = await p.run('--keep-going', '--jobs', '1');
    expect(r.code).toBe(1);
    expect(r.results).toEqual({ fail: 'failed', after: 'not-run', slow: 'ran', later: 'ran' });
    expect(Object.keys(p.lock().stages)).toEqual(['slow', 'later']);
    expect(p.runs('after')).toBe(0);
  });
});
