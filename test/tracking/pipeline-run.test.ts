import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot, tagOf, tempProject, useMlflowServer, writeFile } from './helpers.js';

const run = promisify(execFile);
const mlflow = useMlflowServer();

/** A two-stage shell pipeline: "train" writes metrics, a per-epoch history and reports a tag; "export" writes a model dir. */
function project(experiment: string): string {
  const root = tempProject(mlflow.server.uri, experiment);
  const pipeline = `tracking:
  uri: ${mlflow.server.uri}
  experiment: ${experiment}
  registered_model: ${experiment}-student
stages:
  train:
    cmd: >-
      node -e "const fs=require('fs'); const lr=\${train.lr};
      fs.mkdirSync('out',{recursive:true}); fs.writeFileSync('out/model.txt','lr '+lr);
      fs.writeFileSync('out/metrics.json', JSON.stringify({accuracy: 1 - lr}));
      fs.writeFileSync('out/history.json', JSON.stringify([1,2].map(epoch => ({epoch, loss: lr / epoch}))));
      fs.appendFileSync(process.env.KD_STAGE_TAGS, 'kd.backend=shell\\\\n'); console.log('trained')"
    params: [train.lr]
    outs: [out/model.txt]
    metrics: [out/metrics.json]
    plots: [out/history.json]
  export:
    cmd: mkdir -p export && cp out/model.txt export/model.txt
    deps: [out/model.txt]
    outs: [export]
`;
  writeFile(root, 'pipeline.yaml', pipeline);
  writeFile(root, 'params.yaml', 'train:\n  lr: 0.25\n');
  return root;
}

async function kd(root: string, ...args: string[]) {
  const env = { ...process.env };
  delete env.MLFLOW_TRACKING_URI;
  return run(process.execPath, [join(repoRoot, 'bin', 'kd-pipeline.js'), ...args], { cwd: root, env });
}

describe('kd-pipeline run → MLflow', () => {
  it('logs the run, its stage runs with params, metrics, history and backend tag, and registers the export; a --set rerun logs what reran', async () => {
    const root = project('exp-cli');
    const first = JSON.parse((await kd(root, 'run', '--json')).stdout) as { runId: string };
    const exp = await mlflow.client.getOrCreateExperiment('exp-cli');
    const runs = await mlflow.client.searchRuns(exp, `tags.\`kd.run_id\` = '${first.runId}'`);
    expect(runs).toHaveLength(3);
    const parent = runs.find((r) => tagOf(r, 'kd.stage') === undefined)!;
    const train = runs.find((r) => tagOf(r, 'kd.stage') === 'train')!;
    expect(parent.info.status).toBe('FINISHED');
    expect(tagOf(parent, 'kd.backend')).toBe('shell');
    expect(train.data.params).toEqual([{ key: 'train.lr', value: '0.25' }]);
    expect((await mlflow.client.getMetricHistory(train.info.run_id, 'accuracy')).map((m) => m.value)).toEqual([0.75]);
    expect((await mlflow.client.getMetricHistory(train.info.run_id, 'plots/history/loss')).map((m) => [m.step, m.value])).toEqual([[1, 0.25], [2, 0.125]]);
    expect((await mlflow.client.getMetricHistory(parent.info.run_id, 'accuracy')).map((m) => m.value)).toEqual([0.75]);
    // `runs` lists the same key with the same value.
    expect(JSON.parse((await kd(root, 'runs', '--json')).stdout)).toMatchObject([{ runId: first.runId, metrics: { accuracy: 0.75 } }]);
    const model = await fetch(`${mlflow.server.uri}/api/2.0/mlflow/registered-models/get?name=exp-cli-student`).then((r) => r.json());
    expect(model.registered_model.latest_versions[0].run_id).toBe(runs.find((r) => tagOf(r, 'kd.stage') === 'export')!.info.run_id);

    const second = JSON.parse((await kd(root, 'run', '--json', '--set', 'train.lr=0.5')).stdout) as { runId: string; stages: { name: string; result: string }[] };
    expect(second.stages.map((s) => s.result)).toEqual(['ran', 'ran']);
    const rerun = await mlflow.client.searchRuns(exp, `tags.\`kd.run_id\` = '${second.runId}'`);
    const train2 = rerun.find((r) => tagOf(r, 'kd.stage') === 'train')!;
    expect((await mlflow.client.getMetricHistory(train2.info.run_id, 'accuracy')).map((m) => m.value)).toEqual([0.5]);

    // A frozen stage is not run, but its metrics still reach the pipeline's run and its own.
    writeFile(root, 'pipeline.yaml', readFileSync(join(root, 'pipeline.yaml'), 'utf8').replace('  train:\n', '  train:\n    frozen: true\n'));
    const third = JSON.parse((await kd(root, 'run', '--json')).stdout) as { runId: string };
    const frozenRuns = await mlflow.client.searchRuns(exp, `tags.\`kd.run_id\` = '${third.runId}'`);
    for (const run of [frozenRuns.find((r) => tagOf(r, 'kd.stage') === undefined)!, frozenRuns.find((r) => tagOf(r, 'kd.stage') === 'train')!]) {
      expect((await mlflow.client.getMetricHistory(run.info.run_id, 'accuracy')).map((m) => m.value)).toEqual([0.5]);
    }
  }, 120_000);
});
