import { MlflowClient } from './client.js';
import { loadTrackingConfig } from './config.js';
import { tagFilter } from './sync.js';

export type RunEnd = 'FINISHED' | 'FAILED' | 'KILLED';

/**
 * Ends a run that another process started, found by its `kd.run_id` on this project's MLflow
 * server: a queued sweep's run, created by the clone that enqueued it and ended by the worker that
 * finishes its last trial. Never throws: says what happened, for the worker's log.
 */
export async function endRunElsewhere(root: string, kdRunId: string, status: RunEnd): Promise<string> {
  try {
    const cfg = await loadTrackingConfig(root);
    if (!cfg.uri) return 'no MLflow server configured here';
    const client = new MlflowClient({ uri: cfg.uri, timeoutMs: 10_000 });
    if (!(await client.health())) return `MLflow at ${cfg.uri} is not reachable`;
    const experiment = await client.getOrCreateExperiment(cfg.experiment);
    const runs = (await client.searchRuns(experiment, tagFilter('kd.run_id', kdRunId))).filter((r) => !r.data.tags.some((t) => t.key === 'kd.stage'));
    if (runs.length === 0) return `MLflow at ${cfg.uri} has no run for it (the enqueuing clone tracks elsewhere)`;
    for (const run of runs) await client.updateRun(run.info.run_id, status, Date.now());
    return `its MLflow run is ${status}`;
  } catch (error) {
    return `ending its MLflow run failed (${(error as Error).message})`;
  }
}
