import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { PipelineObserver, RunStartInfo } from '../../lib/pipeline/events.js';
import { createTracker } from '../../lib/tracking/index.js';
import { groupRuns, readJournal } from '../../lib/tracking/journal.js';
import { Syncer } from '../../lib/tracking/sync.js';
import { repoRoot, stageEnd, startServer, tagOf, tempProject, useMlflowServer, writeFile } from './helpers.js';

const mlflow = useMlflowServer();

function runStart(root: string, runId: string, params: Record<string, unknown>): RunStartInfo {
  return { runId, root, startedAt: new Date().toISOString(), user: 'tester', gitCommit: 'abc123', pipelineFingerprint: `pf-${runId}`, params, argv: ['run'] };
}

/** Plays a two-stage run (train → export) through the observer, as the engine does. */
async function playRun(tracker: PipelineObserver, root: string, runId: string, lr: number, trainResult: 'ran' | 'skipped', producedBy?: string) {
  await tracker.runStarted(runStart(root, runId, { train: { lr }, label: 'café' }));
  const train = trainResult === 'ran';
  if (train) {
    writeFile(root, 'artifacts/metrics/train.json', JSON.stringify({ test: { accuracy: 0.9, f1: 0.8 } }));
    writeFile(root, 'artifacts/plots/train.json', JSON.stringify([1, 2, 3].map((epoch) => ({ epoch, loss: 1 / epoch, val_loss: 1.2 / epoch }))));
    writeFile(root, 'artifacts/model/weights.bin', Buffer.from([0, 1, 2, 250, 255]));
    writeFile(root, 'artifacts/model/sub/model.json', '{"ü":1}');
    writeFile(root, '.kd/logs/train.log', 'epoch 1\nepoch 2\n');
  }
  await tracker.stageStarted({ runId, stage: 'train', fingerprint: 'fp-train', cmd: 'node train.js', params: { 'train.lr': lr }, startedAt: new Date().toISOString() });
  await tracker.stageFinished(stageEnd(runId, 'train', {
    result: trainResult, params: { 'train.lr': lr }, metrics: ['artifacts/metrics/train.json'], plots: ['artifacts/plots/train.json'],
    outs: ['artifacts/model'], tags: { 'kd.backend': 'cpu' }, ...(train ? { logFile: '.kd/logs/train.log' } : { producedByRunId: producedBy }),
  }));
  if (train) {
    writeFile(root, 'artifacts/export/model.json', '{"student":true}');
    await tracker.stageFinished(stageEnd(runId, 'export', { outs: ['artifacts/export'], tags: { 'kd.register_model': 'artifacts/export' } }));
  } else {
    await tracker.stageFinished(stageEnd(runId, 'export', { result: 'skipped', outs: ['artifacts/export'], producedByRunId: producedBy }));
  }
  await tracker.runFinished({ runId, status: 'FINISHED', endedAt: new Date().toISOString() });
  await tracker.close();
}

async function runsOf(experiment: string, kdRunId: string) {
  const exp = await mlflow.client.getOrCreateExperiment(experiment);
  return mlflow.client.searchRuns(exp, `tags.\`kd.run_id\` = '${kdRunId}'`);
}

describe('MLflow tracking against a real server', () => {
  it('logs a run with nested stage runs, params, per-epoch metrics, artifacts and a model version; a rerun logs only what ran', async () => {
    const root = tempProject(mlflow.server.uri, 'exp-main');
    await playRun(await createTracker(root), root, 'run-1', 0.01, 'ran');
    const runs = await runsOf('exp-main', 'run-1');
    expect(runs).toHaveLength(3);
    const parent = runs.find((r) => tagOf(r, 'kd.stage') === undefined)!;
    const train = runs.find((r) => tagOf(r, 'kd.stage') === 'train')!;
    expect(tagOf(parent, 'kd.backend')).toBe('cpu');
    expect(tagOf(parent, 'mlflow.source.git.commit')).toBe('abc123');
    expect(tagOf(train, 'mlflow.parentRunId')).toBe(parent.info.run_id);
    expect(parent.data).toMatchObject({ params: expect.arrayContaining([{ key: 'label', value: 'café' }, { key: 'train.lr', value: '0.01' }]) });
    expect(train.data).toMatchObject({ params: [{ key: 'train.lr', value: '0.01' }] });
    const history = await mlflow.client.getMetricHistory(train.info.run_id, 'plots/train/val_loss');
    expect(history.map((m) => [m.step, m.value])).toEqual([1, 2, 3].map((e) => [e, 1.2 / e]));
    // One key per metric: the metrics file's value under the same name on the stage's run and the pipeline's.
    for (const run of [train, parent]) expect((await mlflow.client.getMetricHistory(run.info.run_id, 'train/test.accuracy')).map((m) => m.value)).toEqual([0.9]);
    const weights = await mlflow.client.downloadArtifact(train.info.artifact_uri, 'artifacts/model/weights.bin');
    expect(weights.equals(readFileSync(join(root, 'artifacts/model/weights.bin')))).toBe(true);
    expect((await mlflow.client.downloadArtifact(train.info.artifact_uri, 'artifacts/model/sub/model.json')).toString()).toBe('{"ü":1}');
    expect((await mlflow.client.downloadArtifact(train.info.artifact_uri, '.kd/logs/train.log')).toString()).toBe('epoch 1\nepoch 2\n');
    const versions = await fetch(`${mlflow.server.uri}/api/2.0/mlflow/registered-models/get?name=exp-main-student`).then((r) => r.json());
    expect(versions.registered_model.latest_versions[0].run_id).toBe(runs.find((r) => tagOf(r, 'kd.stage') === 'export')!.info.run_id);

    // Rerun with nothing changed for train: skipped stages are tagged and linked, not re-logged.
    await playRun(await createTracker(root), root, 'run-2', 0.01, 'skipped', 'run-1');
    const rerun = await runsOf('exp-main', 'run-2');
    const skipped = rerun.find((r) => tagOf(r, 'kd.stage') === 'train')!;
    expect(tagOf(skipped, 'kd.result')).toBe('skipped');
    expect(tagOf(skipped, 'kd.produced_by_run')).toBe(train.info.run_id);
    expect(await mlflow.client.getMetricHistory(skipped.info.run_id, 'plots/train/val_loss')).toEqual([]);
    expect((await mlflow.client.getMetricHistory(skipped.info.run_id, 'train/test.accuracy')).map((m) => m.value)).toEqual([0.9]);
    const after = await fetch(`${mlflow.server.uri}/api/2.0/mlflow/registered-models/get?name=exp-main-student`).then((r) => r.json());
    expect(after.registered_model.latest_versions[0].version).toBe('1');
  }, 60_000);

  it('server down: the run succeeds with one warning, the journal keeps it, sync delivers it once', async () => {
    const root = tempProject('http://127.0.0.1:9', 'exp-offline');
    const warn = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const t0 = Date.now();
    let written: string[];
    try {
      await playRun(await createTracker(root), root, 'off-1', 0.5, 'ran');
    } finally {
      written = warn.mock.calls.map((c) => String(c[0]));
      warn.mockRestore();
    }
    expect(Date.now() - t0).toBeLessThan(3000);
    const warnings = written.filter((l) => l.includes('warning'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('not reachable');
    const journaled = groupRuns(await readJournal(root));
    expect(journaled.map((r) => r.start.runId)).toEqual(['off-1']);

    const cfg = { uri: mlflow.server.uri, experiment: 'exp-offline', registeredModel: 'exp-offline-student' };
    const first = await new Syncer(root, cfg).syncAll(journaled);
    expect(first).toMatchObject({ runsCreated: 1, stageRunsCreated: 2, modelVersions: ['exp-offline-student v1'] });
    const second = await new Syncer(root, cfg).syncAll(journaled);
    expect(second).toMatchObject({ runsCreated: 0, stageRunsCreated: 0, modelVersions: [] });
    const runs = await runsOf('exp-offline', 'off-1');
    expect(runs).toHaveLength(3);
    const train = runs.find((r) => tagOf(r, 'kd.stage') === 'train')!;
    expect(await mlflow.client.getMetricHistory(train.info.run_id, 'plots/train/loss')).toHaveLength(3);
  }, 60_000);

  it('splits a 1001-metric batch within the API limits', async () => {
    const exp = await mlflow.client.getOrCreateExperiment('exp-batch');
    const run = await mlflow.client.createRun(exp, 'batch', Date.now(), []);
    const metrics = Array.from({ length: 1001 }, (_, step) => ({ key: 'm', value: step, step, timestamp: Date.now() }));
    await mlflow.client.logBatch(run.info.run_id, { metrics, params: Array.from({ length: 150 }, (_, i) => ({ key: `p${i}`, value: String(i) })) });
    const history = await mlflow.client.getMetricHistory(run.info.run_id, 'm');
    expect(history).toHaveLength(1001);
    expect(new Set(history.map((m) => m.step)).size).toBe(1001);
  }, 60_000);

  it('server killed mid-run: one warning, then `kd-pipeline mlflow sync` delivers once and `kd-pipeline runs --json` lists the run', async () => {
    const doomed = await startServer();
    const root = tempProject(doomed.uri, 'exp-killed');
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    let written: string[];
    try {
      const tracker = await createTracker(root);
      await tracker.runStarted(runStart(root, 'kill-1', { train: { lr: 0.1 } }));
      await doomed.stop();
      await tracker.stageFinished(stageEnd('kill-1', 'train', { params: { 'train.lr': 0.1 } }));
      await tracker.runFinished({ runId: 'kill-1', status: 'FINISHED', endedAt: new Date().toISOString() });
      await tracker.close();
    } finally {
      written = write.mock.calls.map((c) => String(c[0]));
      write.mockRestore();
    }
    expect(written.filter((l) => l.includes('warning'))).toHaveLength(1);

    const cli = (...args: string[]) =>
      execFileSync('node', [join(repoRoot, 'bin/kd-pipeline.js'), ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, MLFLOW_TRACKING_URI: mlflow.server.uri } });
    expect(JSON.parse(cli('mlflow', 'sync', '--json'))).toMatchObject({ runsInJournal: 1, runsCreated: 1, stageRunsCreated: 1 });
    expect(JSON.parse(cli('mlflow', 'sync', '--json'))).toMatchObject({ runsCreated: 0, stageRunsCreated: 0 });
    expect(await runsOf('exp-killed', 'kill-1')).toHaveLength(2);
    const listed = JSON.parse(cli('runs', '--json'));
    expect(listed).toMatchObject([{ runId: 'kill-1', status: 'FINISHED', changedParams: { 'train.lr': 0.1 }, stages: { train: 'ran' } }]);
  }, 150_000);
});
