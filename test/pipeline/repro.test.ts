import { statSync, utimesSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { chainProject, Project, removeProjects } from './harness.js';

afterAll(removeProjects);

describe.concurrent('kd-pipeline run: what reruns', () => {
  it('runs every stage the first time and nothing the second time', async () => {
    const p = chainProject();
    const first = await p.run();
    expect(first.code).toBe(0);
    expect(first.results).toEqual({ up: 'ran', down: 'ran', side: 'ran' });
    expect(first.json.runId).toMatch(/^\d{8}T\d{6}-[0-9a-f]{6}$/);
    expect(p.read('down.txt')).toBe('HELLO\nb=2\n');
    expect(p.read('side.out')).toBe('side\nside\n');
    const lock = p.lock();
    expect(lock.stages.up).toMatchObject({
      cmd: 'echo up >> ran.log && tr a-z A-Z < in.txt > up.txt',
      deps: [{ path: 'in.txt', size: 6 }],
      params: { 'params.yaml': { a: 1 } },
      outs: [{ path: 'up.txt', size: 6 }],
    });
    expect(lock.stages.up.outs[0].hash).toMatch(/^[0-9a-f]{32}$/);
    expect(lock.stages.down.deps[0].hash).toBe(lock.stages.up.outs[0].hash);

    const second = await p.run();
    expect(second.code).toBe(0);
    expect(second.results).toEqual({ up: 'skipped', down: 'skipped', side: 'skipped' });
    expect(['up', 'down', 'side'].map((s) => p.runs(s))).toEqual([1, 1, 1]);
    for (const row of second.json.stages) expect(row.seconds).toBeGreaterThanOrEqual(0);
  });

  it('a param used only downstream reruns that stage and its dependents; an unused key reruns nothing', async () => {
    // top → mid (declares m, reads it from params.yaml itself) → bottom
    const p = new Project({
      'params.yaml': 't: 1\nm: 2\nunused: 3\n',
      'pipeline.yaml': `stages:
  top:
    cmd: echo top >> ran.log && echo top > top.txt
    params: [t]
    outs: [top.txt]
  mid:
    cmd: echo mid >> ran.log && cat top.txt > mid.txt && grep '^m:' params.yaml >> mid.txt
    deps: [top.txt]
    params: [m]
    outs: [mid.txt]
  bottom:
    cmd: echo bottom >> ran.log && cat mid.txt > bottom.txt
    deps: [mid.txt]
    outs: [bottom.txt]
`,
    });
    await p.run();
    p.write('params.yaml', 't: 1\nm: 5\nunused: 3\n');
    const status = await p.kd(['status', '--json']);
    expect(status.json.stages).toEqual([
      { name: 'top', upToDate: true, reasons: [] },
      { name: 'mid', upToDate: false, reasons: ["param 'm' changed (2 → 5)"] },
      { name: 'bottom', upToDate: true, reasons: [] },
    ]);
    expect((await p.run()).results).toEqual({ top: 'skipped', mid: 'ran', bottom: 'ran' });
    expect(p.read('bottom.txt')).toBe('top\nm: 5\n');

    p.write('params.yaml', 't: 1\nm: 5\nunused: 4\n');
    expect((await p.run()).results).toEqual({ top: 'skipped', mid: 'skipped', bottom: 'skipped' });
    expect(['top', 'mid', 'bottom'].map((s) => p.runs(s))).toEqual([1, 2, 2]);
  });

  it('a ${key} interpolated into cmd changes the cmd', async () => {
    const p = chainProject();
    await p.run();
    p.write('params.yaml', p.read('params.yaml').replace('b: 2', 'b: 5'));
    const status = await p.kd(['status', '--json']);
    expect(status.json.stages[1]).toEqual({ name: 'down', upToDate: false, reasons: ['cmd changed', "param 'b' changed (2 → 5)"] });
    expect(p.lock().stages.down.cmd).toBe('echo down >> ran.log && cat up.txt > down.txt && echo b=2 >> down.txt');
    expect((await p.run()).results).toEqual({ up: 'skipped', down: 'ran', side: 'skipped' });
    expect(p.read('down.txt')).toBe('HELLO\nb=5\n');
  });

  it('editing a dep reruns its stage and the descendants whose inputs changed', async () => {
    const p = chainProject();
    await p.run();
    p.write('in.txt', 'world\n');
    const status = await p.kd(['status', '--json']);
    expect(status.json.stages.find((s: any) => s.name === 'up').reasons).toEqual(["dep 'in.txt' changed"]);
    expect((await p.run()).results).toEqual({ up: 'ran', down: 'ran', side: 'skipped' });
    expect(p.read('down.txt')).toBe('WORLD\nb=2\n');
  });

  it('a deleted out is restored from the cache without running its command', async () => {
    const p = chainProject();
    await p.run();
    p.remove('up.txt');
    const status = await p.kd(['status', '--json']);
    expect(status.json.stages[0]).toEqual({ name: 'up', upToDate: false, reasons: ["out 'up.txt' is missing"] });
    expect((await p.run()).results).toEqual({ up: 'restored', down: 'skipped', side: 'skipped' });
    expect(p.read('up.txt')).toBe('HELLO\n');
    expect(p.runs('up')).toBe(1);
    // The checked-out copy is writable and is not the cache object itself.
    expect(statSync(p.path('up.txt')).mode & 0o200).toBe(0o200);
    // With the cache gone, a deleted out can only be recomputed.
    p.remove('.kd/cache');
    p.remove('up.txt');
    expect((await p.run()).results).toEqual({ up: 'ran', down: 'skipped', side: 'skipped' });
    expect(p.read('up.txt')).toBe('HELLO\n');
    expect(p.runs('up')).toBe(2);
  });

  it('an executable out, alone or inside a directory out, is restored executable', async () => {
    const p = new Project({
      'params.yaml': '',
      'pipeline.yaml': `stages:
  tools:
    cmd: printf '#!/bin/sh\\necho hi\\n' > tool.sh && chmod 755 tool.sh && mkdir -p bin && cp tool.sh bin/tool.sh && echo plain > bin/readme.txt
    outs: [tool.sh, bin]
`,
    });
    expect((await p.run()).results).toEqual({ tools: 'ran' });
    expect(p.lock().stages.tools.outs[0]).toMatchObject({ path: 'tool.sh', isexec: true });
    p.remove('tool.sh');
    p.remove('bin');
    expect((await p.run()).results).toEqual({ tools: 'restored' });
    expect(statSync(p.path('tool.sh')).mode & 0o111).toBe(0o111);
    expect(statSync(p.path('bin/tool.sh')).mode & 0o111).toBe(0o111);
    expect(statSync(p.path('bin/readme.txt')).mode & 0o111).toBe(0);
    expect((await p.kd(['status', '--check'])).code).toBe(0);
  });

  it('a hand-modified out is reported by status and replaced by run (run-cache, or the command with --no-run-cache)', async () => {
    const p = chainProject();
    await p.run();
    p.write('up.txt', 'tampered\n');
    const status = await p.kd(['status', '--json']);
    expect(status.json.stages[0]).toEqual({ name: 'up', upToDate: false, reasons: ["out 'up.txt' was modified"] });
    // cmd, deps and params match a remembered run, so its outputs are checked out (as DVC does).
    expect((await p.run()).results).toEqual({ up: 'restored', down: 'skipped', side: 'skipped' });
    expect(p.read('up.txt')).toBe('HELLO\n');
    expect(p.runs('up')).toBe(1);
    p.write('up.txt', 'tampered again\n');
    expect((await p.run('--no-run-cache')).results).toEqual({ up: 'ran', down: 'skipped', side: 'skipped' });
    expect(p.read('up.txt')).toBe('HELLO\n');
    expect(p.runs('up')).toBe(2);
    expect((await p.kd(['status', '--check'])).code).toBe(0);
  });

  it('change-then-revert a param (--set) restores from the run-cache; --no-run-cache runs', async () => {
    const p = chainProject();
    const first = await p.run();
    const changed = await p.run('--set', 'b=7');
    expect(changed.results).toEqual({ up: 'skipped', down: 'ran', side: 'skipped' });
    expect(p.read('params.yaml')).toContain('b: 7');
    expect(p.read('down.txt')).toBe('HELLO\nb=7\n');

    const reverted = await p.run('--set', 'b=2');
    expect(reverted.results).toEqual({ up: 'skipped', down: 'restored', side: 'skipped' });
    expect(p.read('down.txt')).toBe('HELLO\nb=2\n');
    expect(p.runs('down')).toBe(2);
    expect(p.lock().stages.down.params).toEqual({ 'params.yaml': { b: 2 } });
    // The restored lock entry names the run that produced the outputs.
    expect(p.lock().stages.down.run).toBe(first.json.runId);
    expect(reverted.stderr).toContain(`down: restored from cache (outputs of run ${first.json.runId})`);

    await p.run('--set', 'b=7');
    expect(p.runs('down')).toBe(2);
    const noCache = await p.run('--set', 'b=2', '--no-run-cache');
    expect(noCache.results.down).toBe('ran');
    expect(p.runs('down')).toBe(3);
  });

  it('--set rejects a key that is not in params.yaml', async () => {
    const p = chainProject();
    const r = await p.kd(['run', '--set', 'nope=1']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("'nope' is not a key of params.yaml");
  });

  it('--set +key adds a key under a mapping that exists (Hydra/DVC grammar), and says how when the + is missing', async () => {
    const p = chainProject();
    const missing = await p.kd(['run', '--set', 'nested.z=3']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("--set nested.z=3: 'nested.z' is not a key of params.yaml (to add it under nested, write +nested.z=…)");
    const noParent = await p.kd(['run', '--set', '+nosuch.z=3']);
    expect(noParent.code).not.toBe(0);
    expect(noParent.stderr).toContain("--set +nosuch.z=3: 'nosuch.z' is not a key of params.yaml");
    expect(p.read('params.yaml')).not.toContain('z: 3');
    await p.run('--set', '+nested.z=3', '--set', '+top=4');
    expect(p.read('params.yaml')).toBe('a: 1\nb: 2\nunused: 3\nnested:\n  x: 1\n  y: 2\n  z: 3\ntop: 4\n');
  });

  it('a cmd change reruns the stage', async () => {
    const p = chainProject();
    await p.run();
    p.write('pipeline.yaml', p.read('pipeline.yaml').replace('cat side.txt side.txt > side.out', 'cat side.txt > side.out'));
    const status = await p.kd(['status', '--json']);
    expect(status.json.stages[2]).toEqual({ name: 'side', upToDate: false, reasons: ['cmd changed'] });
    expect((await p.run()).results).toEqual({ up: 'skipped', down: 'skipped', side: 'ran' });
    expect(p.read('side.out')).toBe('side\n');
  });

  it('declaring another out reruns the stage: a run-cache entry without that out cannot restore it', async () => {
    const p = new Project({
      'params.yaml': '',
      'pipeline.yaml': `stages:
  make:
    cmd: echo make >> ran.log && echo a > a.txt && echo b > b.txt
    outs: [a.txt]
`,
    });
    await p.run();
    p.write('pipeline.yaml', p.read('pipeline.yaml').replace('outs: [a.txt]', 'outs: [a.txt, b.txt]'));
    expect((await p.kd(['status', '--json'])).json.stages[0].reasons).toEqual(['outs changed']);
    expect((await p.run()).results).toEqual({ make: 'ran' });
    expect(p.read('b.txt')).toBe('b\n');
    expect(p.lock().stages.make.outs.map((o: { path: string }) => o.path)).toEqual(['a.txt', 'b.txt']);
    expect((await p.kd(['status', '--check'])).code).toBe(0);
    expect(p.runs('make')).toBe(2);
  });

  it('early cutoff: an upstream cmd change with a byte-identical out skips the downstream stage', async () => {
    const p = chainProject();
    await p.run();
    p.write('pipeline.yaml', p.read('pipeline.yaml').replace('tr a-z A-Z < in.txt > up.txt', 'tr a-z A-Z < in.txt > up.txt && true'));
    expect((await p.run()).results).toEqual({ up: 'ran', down: 'skipped', side: 'skipped' });
    expect(p.runs('down')).toBe(1);
  });

  it('--force, --downstream, --single-stage and targets select the stages', async () => {
    const p = chainProject();
    expect((await p.run('down')).results).toEqual({ up: 'ran', down: 'ran' });
    expect(p.exists('side.out')).toBe(false);
    expect((await p.run('--force', 'down')).results).toEqual({ up: 'ran', down: 'ran' });
    expect((await p.run('--force', '--single-stage', 'down')).results).toEqual({ down: 'ran' });
    expect((await p.run('--force', '--downstream', 'up')).results).toEqual({ up: 'ran', down: 'ran' });
    expect((await p.run('side')).results).toEqual({ side: 'ran' });
    expect([p.runs('up'), p.runs('down'), p.runs('side')]).toEqual([3, 4, 1]);

    // --single-stage runs only the target even when its upstream is out of date.
    p.write('in.txt', 'again\n');
    expect((await p.run('--single-stage', 'down')).results).toEqual({ down: 'skipped' });
    const unknown = await p.kd(['run', 'nope']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain("no stage named 'nope'");
  });

  it('interpolates ${key} in cmd and reads params from another file', async () => {
    const p = new Project({
      'params.yaml': 'model:\n  width: 3\n',
      'train.yaml': 'lr: 0.5\nepochs: 2\nother: x\n',
      'pipeline.yaml': `stages:
  fit:
    cmd: echo fit >> ran.log && echo width=\${model.width} > fit.txt
    params: [model, {train.yaml: [lr]}]
    outs: [fit.txt]
`,
    });
    expect((await p.run()).results).toEqual({ fit: 'ran' });
    expect(p.read('fit.txt')).toBe('width=3\n');
    expect(p.lock().stages.fit.params).toEqual({ 'params.yaml': { model: { width: 3 } }, 'train.yaml': { lr: 0.5 } });

    p.write('train.yaml', 'lr: 0.5\nepochs: 2\nother: y\n');
    expect((await p.run()).results).toEqual({ fit: 'skipped' });
    p.write('train.yaml', 'lr: 0.25\nepochs: 2\nother: y\n');
    const status = await p.kd(['status', '--json']);
    expect(status.json.stages[0].reasons).toEqual(["param 'lr' changed (0.5 → 0.25)"]);
    expect((await p.run()).results).toEqual({ fit: 'ran' });

    // A dotted key covers its subtree: a nested change is reported by its leaf key.
    p.write('params.yaml', 'model:\n  width: 4\n');
    expect((await p.kd(['status', '--json'])).json.stages[0].reasons).toEqual(['cmd changed', "param 'model.width' changed (3 → 4)"]);
    expect((await p.run()).results).toEqual({ fit: 'ran' });
    expect(p.read('fit.txt')).toBe('width=4\n');
  });

  it('a dotted params key covers its subtree and nothing else', async () => {
    const p = new Project({
      'params.yaml': 'train:\n  opt:\n    lr: 1\n    beta: 2\n  epochs: 3\n',
      'pipeline.yaml': `stages:
  fit:
    cmd: echo fit >> ran.log && echo > fit.txt
    params: [train.opt]
    outs: [fit.txt]
`,
    });
    await p.run();
    expect(p.lock().stages.fit.params).toEqual({ 'params.yaml': { 'train.opt': { lr: 1, beta: 2 } } });
    expect((await p.run('--set', 'train.epochs=4')).results).toEqual({ fit: 'skipped' });
    const changed = await p.run('--set', 'train.opt.beta=5');
    expect(changed.results).toEqual({ fit: 'ran' });
    expect(changed.stderr).toContain("fit: param 'train.opt.beta' changed (2 → 5)");
    expect(p.runs('fit')).toBe(2);
  });

  it('a directory dep and out are hashed by manifest', async () => {
    const p = new Project({
      'params.yaml': '',
      'src/a.txt': 'a\n',
      'src/sub/b.txt': 'b\n',
      'pipeline.yaml': `stages:
  copy:
    cmd: echo copy >> ran.log && mkdir -p out/x && cp src/a.txt out/ && cp src/sub/b.txt out/x/
    deps: [src]
    outs: [out]
  count:
    cmd: echo count >> ran.log && ls -R out | wc -l > count.txt
    deps: [out]
    outs: [count.txt]
`,
    });
    expect((await p.run()).results).toEqual({ copy: 'ran', count: 'ran' });
    const out = p.lock().stages.copy.outs[0];
    expect(out).toMatchObject({ path: 'out', size: 4, nfiles: 2 });
    expect(out.hash).toMatch(/^[0-9a-f]{32}\.dir$/);
    expect(p.lock().stages.copy.deps[0]).toMatchObject({ path: 'src', nfiles: 2 });

    p.remove('out');
    expect((await p.run()).results).toEqual({ copy: 'restored', count: 'skipped' });
    expect(p.read('out/x/b.txt')).toBe('b\n');

    p.write('out/x/b.txt', 'B\n');
    expect((await p.kd(['status', '--json'])).json.stages[0].reasons).toEqual(["out 'out' was modified"]);
    p.write('src/sub/new.txt', 'n\n');
    expect((await p.kd(['status', '--json'])).json.stages[0].reasons).toEqual(["dep 'src' changed", "out 'out' was modified"]);
    expect((await p.run()).results).toEqual({ copy: 'ran', count: 'skipped' });
    expect(p.read('out/x/b.txt')).toBe('b\n');
    expect(p.runs('copy')).toBe(2);
  });

  it('wdir: cmd, deps and outs are relative to the stage directory', async () => {
    const p = new Project({
      'params.yaml': '',
      'sub/in.txt': 'x\n',
      'pipeline.yaml': `stages:
  inner:
    wdir: sub
    cmd: pwd > where.txt && cat in.txt >> where.txt
    deps: [in.txt]
    outs: [where.txt]
  outer:
    cmd: cat sub/where.txt > outer.txt
    deps: [sub/where.txt]
    outs: [outer.txt]
`,
    });
    expect((await p.run()).results).toEqual({ inner: 'ran', outer: 'ran' });
    expect(p.read('sub/where.txt')).toMatch(/\/sub\nx\n$/);
    const lock = p.lock();
    expect(lock.stages.inner).toMatchObject({ wdir: 'sub', deps: [{ path: 'sub/in.txt' }], outs: [{ path: 'sub/where.txt' }] });
    // The CLI finds the project from a subdirectory.
    const fromSub = await p.kd(['status', '--json'], { cwd: p.path('sub') });
    expect(fromSub.json.stages.map((st: { upToDate: boolean }) => st.upToDate)).toEqual([true, true]);
    expect((await p.run()).results).toEqual({ inner: 'skipped', outer: 'skipped' });
  });

  it('frozen stages never run; always_changed stages always run and are never restored', async () => {
    const p = new Project({
      'params.yaml': '',
      'in.txt': 'i\n',
      'pipeline.yaml': `stages:
  once:
    cmd: echo once >> ran.log && cat in.txt > once.txt
    deps: [in.txt]
    outs: [once.txt]
  tick:
    cmd: echo tick >> ran.log && cat once.txt > tick.txt
    deps: [once.txt]
    outs: [tick.txt]
    always_changed: true
`,
    });
    expect((await p.run()).results).toEqual({ once: 'ran', tick: 'ran' });
    expect((await p.run()).results).toEqual({ once: 'skipped', tick: 'ran' });
    expect((await p.kd(['status', '--json'])).json.stages[1]).toEqual({ name: 'tick', upToDate: false, reasons: ['always_changed'] });
    expect(p.runs('tick')).toBe(2);

    p.write('pipeline.yaml', p.read('pipeline.yaml').replace('outs: [once.txt]', 'outs: [once.txt]\n    frozen: true'));
    p.write('in.txt', 'changed\n');
    const status = await p.kd(['status', '--json']);
    expect(status.json.stages[0]).toEqual({ name: 'once', upToDate: true, reasons: ['frozen'] });
    expect((await p.run()).results).toEqual({ once: 'skipped', tick: 'ran' });
    expect((await p.run('--force')).results.once).toBe('skipped');
    expect(p.runs('once')).toBe(1);
    expect(p.read('once.txt')).toBe('i\n');
  });

  it('persist outs survive a rerun and are not part of the identity', async () => {
    const p = new Project({
      'params.yaml': 'n: 1\n',
      'pipeline.yaml': `stages:
  grow:
    cmd: echo \${n} >> ckpt.txt && cat ckpt.txt > result.txt
    params: [n]
    outs: [result.txt, {ckpt.txt: {persist: true}}]
`,
    });
    await p.run();
    await p.run('--set', 'n=2');
    expect(p.read('ckpt.txt')).toBe('1\n2\n');
    expect(p.lock().stages.grow.outs).toContainEqual({ path: 'ckpt.txt', persist: true });
    p.write('ckpt.txt', 'edited\n');
    expect((await p.run()).results).toEqual({ grow: 'skipped' });
  });

  it('an out switched from persist to cached reruns its stage and is cached', async () => {
    const p = new Project({
      'params.yaml': '',
      'pipeline.yaml': `stages:
  grow:
    cmd: echo x >> grow.txt
    outs: [{grow.txt: {persist: true}}]
  use:
    cmd: cat grow.txt > use.txt
    deps: [grow.txt]
    outs: [use.txt]
`,
    });
    await p.run();
    p.write('pipeline.yaml', p.read('pipeline.yaml').replace('persist: true', 'persist: false'));
    expect((await p.kd(['status', '--json'])).json.stages[0]).toEqual({ name: 'grow', upToDate: false, reasons: ['outs changed'] });
    expect((await p.run()).results).toEqual({ grow: 'ran', use: 'skipped' });
    expect(p.lock().stages.grow.outs).toEqual([{ path: 'grow.txt', hash: expect.any(String), size: 2 }]);
    p.remove('grow.txt');
    expect((await p.run()).results).toEqual({ grow: 'restored', use: 'skipped' });
  });

  it('a declared out that the command does not produce fails the stage naming the path', async () => {
    const p = new Project({
      'params.yaml': '',
      'pipeline.yaml': `stages:
  lazy:
    cmd: echo nothing
    outs: [made.txt, missing.txt]
`,
    });
    p.write('made.txt', 'stale\n');
    const r = await p.run();
    expect(r.code).toBe(1);
    expect(r.results).toEqual({ lazy: 'failed' });
    expect(r.stderr).toContain("stage 'lazy' did not produce its declared out 'made.txt'");
    // Outs are removed before the command runs, so a stale file never counts as produced.
    expect(p.exists('made.txt')).toBe(false);
    expect(p.exists('pipeline.lock')).toBe(false);
  });

  it('prefixes stage output with [stage] on stderr and keeps the log file', async () => {
    const p = new Project({
      'params.yaml': '',
      'pipeline.yaml': `stages:
  talk:
    cmd: echo to-stdout && echo to-stderr >&2 && echo done > talk.txt
    outs: [talk.txt]
`,
    });
    const r = await p.run();
    expect(r.stderr).toContain('[talk] to-stdout');
    expect(r.stderr).toContain('[talk] to-stderr');
    // stdout carries only the JSON report.
    expect(JSON.parse((await p.kd(['run', '--force', '--json'])).stdout).stages[0].result).toBe('ran');
    const log = p.read(`.kd/logs/talk/${r.json.runId}.log`);
    expect(log.split('\n').sort()).toEqual(['', 'to-stderr', 'to-stdout']);
  });

  it('run --dry-run --json plans without running or writing anything', async () => {
    const p = chainProject();
    // In a project that never ran, neither the plan nor status creates .kd/.
    const fresh = await p.kd(['run', '--dry-run', '--json']);
    expect(fresh.json.stages.map((s: { wouldRun: boolean }) => s.wouldRun)).toEqual([true, true, true]);
    expect((await p.kd(['status'])).code).toBe(0);
    expect(p.exists('.kd')).toBe(false);
    await p.run();
    p.write('in.txt', 'changed\n');
    const before = p.files().sort();
    const r = await p.kd(['run', '--dry-run', '--json']);
    expect(r.code).toBe(0);
    expect(r.json).toEqual({
      dryRun: true,
      stages: [
        { name: 'up', wouldRun: true, reasons: ["dep 'in.txt' changed"] },
        { name: 'down', wouldRun: true, reasons: ["upstream 'up' would run"] },
        { name: 'side', wouldRun: false, reasons: [] },
      ],
    });
    expect((await p.kd(['run', '--dry-run', '--json', '--force', 'side'])).json.stages).toEqual([{ name: 'side', wouldRun: true, reasons: ['forced'] }]);
    expect(p.files().sort()).toEqual(before);
    expect(p.runs('up')).toBe(1);
  });

  it('the state store memoises hashes by size+mtime+inode: same-size content swapped with the old mtime goes unnoticed', async () => {
    const p = new Project({
      'params.yaml': '',
      'big.bin': 'x'.repeat(4 << 20),
      'pipeline.yaml': `stages:
  size:
    cmd: wc -c < big.bin > size.txt
    deps: [big.bin]
    outs: [size.txt]
`,
    });
    // A whole-second mtime, so that utimes can put back exactly the nanosecond stamp the engine saw.
    const mtime = new Date(1_700_000_000_000);
    utimesSync(p.path('big.bin'), mtime, mtime);
    const { ino } = statSync(p.path('big.bin'));
    await p.run();
    const state = p.read('.kd/state.json');
    expect(Object.keys(JSON.parse(state))).toContain(p.path('big.bin'));
    const atime = mtime;
    // Same size, same inode (written in place), mtime put back: the DVC-like trade-off is that
    // the engine trusts the stamp and does not re-read the file.
    p.write('big.bin', 'y'.repeat(4 << 20));
    utimesSync(p.path('big.bin'), atime, mtime);
    expect(statSync(p.path('big.bin')).ino).toBe(ino);
    const status = await p.kd(['status', '--json']);
    expect(status.json.stages[0]).toEqual({ name: 'size', upToDate: true, reasons: [] });
    expect(p.read('.kd/state.json')).toBe(state);
    // A changed mtime is noticed.
    utimesSync(p.path('big.bin'), atime, new Date(mtime.getTime() + 1000));
    expect((await p.kd(['status', '--json'])).json.stages[0].reasons).toEqual(["dep 'big.bin' changed"]);
  });
});
