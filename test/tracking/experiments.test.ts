import { afterAll, describe, expect, it } from 'vitest';
import { distillProject, expectedAccuracy } from '../pipeline/experiment-project.js';
import { removeProjects } from '../pipeline/harness.js';
import { tagOf, useMlflowServer } from './helpers.js';

const mlflow = useMlflowServer();
afterAll(removeProjects);

describe('experiments in MLflow', () => {
  it('nests each trial under the sweep run; every pipeline run carries the final metrics, restored or up-to-date stages included', async () => {
    const p = distillProject({ tracking: mlflow.server.uri });
    const sweep = await p.kd(['exp', 'run', '-S', 'student.temperature=2,4', '-S', 'student.alpha=0.7', '--name', 'temps', '--json']);
    expect(sweep.code, sweep.stderr).toBe(0);
    const exp = await mlflow.client.getOrCreateExperiment('sweep-test');
    const info = await fetch(`${mlflow.server.uri}/api/2.0/mlflow/experiments/get?experiment_id=${exp}`).then((r) => r.json());
    expect(info.experiment.tags).toContainEqual({ key: 'mlflow.experimentKind', value: 'custom_model_development' });

    const pipelines = await mlflow.client.searchRuns(exp, "tags.`kd.sweep` = 'temps'");
    const parent = pipelines.find((r) => tagOf(r, 'kd.trial') === undefined)!;
    expect(parent.info.status).toBe('FINISHED');
    const trials = pipelines.filter((r) => tagOf(r, 'kd.trial') !== undefined);
    expect(trials.map((r) => tagOf(r, 'kd.trial')).sort()).toEqual(['temps.1', 'temps.2']);
    for (const trial of trials) {
      expect(tagOf(trial, 'mlflow.parentRunId')).toBe(parent.info.run_id);
      const params = Object.fromEntries(((trial.data as any).params as { key: string; value: string }[]).map((x) => [x.key, x.value]));
      const temperature = Number(params['student.temperature']);
      expect(params['student.alpha']).toBe('0.7');
      const [accuracy] = await mlflow.client.getMetricHistory(trial.info.run_id, 'student.accuracy');
      expect(accuracy?.value).toBeCloseTo(expectedAccuracy(temperature, 0.7), 10);
      // The stage runs nest under the trial's run.
      const stages = await mlflow.client.searchRuns(exp, `tags.\`mlflow.parentRunId\` = '${trial.info.run_id}'`);
      expect(stages.map((r) => tagOf(r, 'kd.stage')).sort()).toEqual(['student', 'teacher']);
    }

    // A plain run whose stages are all restored from the sweep's run-cache still carries the metrics.
    const apply = await p.kd(['exp', 'apply', 'temps.2']);
    expect(apply.code, apply.stderr).toBe(0);
    p.remove('metrics.json');
    const plain = await p.run();
    expect(plain.results).toEqual({ teacher: 'skipped', student: 'restored' });
    const again = await p.run();
    expect(again.results).toEqual({ teacher: 'skipped', student: 'skipped' });
    for (const runId of [plain.json.runId, again.json.runId]) {
      const [run] = (await mlflow.client.searchRuns(exp, `tags.\`kd.run_id\` = '${runId}'`)).filter((r) => tagOf(r, 'kd.stage') === undefined);
      const [accuracy] = await mlflow.client.getMetricHistory(run!.info.run_id, 'student.accuracy');
      expect(accuracy?.value).toBeCloseTo(1, 10);
    }
  }, 120_000);
});
