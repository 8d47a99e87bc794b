import { chmodSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { Project, removeProjects } from './harness.js';
import { asOtherUser, openToAll } from './other-user.js';

afterAll(removeProjects);

describe('only an absent file reads as empty', () => {
  it('a stage whose declared metrics file is not JSON fails naming the file and the parse error; metrics show too', async () => {
    const p = new Project({
      'params.yaml': '',
      'pipeline.yaml': `stages:
  score:
    cmd: echo '{ half a metrics file' > metrics.json
    metrics: [metrics.json]
`,
    });
    const run = await p.run();
    expect(run.code).toBe(1);
    expect(run.results).toEqual({ score: 'failed' });
    expect(run.stderr).toMatch(/stage 'score': metrics file metrics\.json is not valid JSON \(.+\)/);
    expect(p.exists('pipeline.lock')).toBe(false);
    const show = await p.kd(['metrics', 'show']);
    expect(show.code).toBe(1);
    expect(show.stderr).toMatch(/^kd-pipeline: error: metrics file metrics\.json is not valid JSON \(.+\)$/m);
  });

  it('a tags line that does not parse is a warning naming the file and line; the other tags (kd.register_model) are kept', async () => {
    const p = new Project({
      'params.yaml': '',
      'pipeline.yaml': `stages:
  export:
    cmd: echo kd.register_model=model >> "$KD_STAGE_TAGS" && echo 'half a tag' >> "$KD_STAGE_TAGS" && echo m > model.txt
    outs: [model.txt]
`,
    });
    const run = await p.run();
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/kd-pipeline: warning: stage 'export': \S+\.tags:2: not a key=value tag, dropped: "half a tag"/);
    const finished = p
      .read('.kd/tracking/journal.jsonl')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      .find((e) => e.event === 'stageFinished');
    expect(finished.info.tags).toMatchObject({ 'kd.register_model': 'model' });
  });

  it('a remote config that cannot be read stops remote add instead of being replaced', async () => {
    const p = new Project({ 'params.yaml': '', 'pipeline.yaml': 'stages: {}\n', '.kdconfig.yaml': 'remotes:\n  team:\n    url: /srv/team\n' });
    openToAll(p.dir);
    chmodSync(p.path('.kdconfig.yaml'), 0o000);
    const add = await asOtherUser(p, ['remote', 'add', 'mine', '/srv/mine']);
    chmodSync(p.path('.kdconfig.yaml'), 0o644);
    expect(add.code).toBe(1);
    expect(add.stderr).toContain('kd-pipeline: error: .kdconfig.yaml: cannot read (EACCES: permission denied)');
    expect(p.read('.kdconfig.yaml')).toBe('remotes:\n  team:\n    url: /srv/team\n');
  });
});
