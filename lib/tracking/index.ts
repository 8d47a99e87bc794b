import type { PipelineObserver, RunStartInfo } from '../pipeline/events.js';
import { readMetricsFile, type MetricsByFile } from '../pipeline/metrics-values.js';
import type { ProgressOut } from '../pipeline/progress.js';
import { MlflowClient } from './client.js';
import { loadTrackingConfig } from './config.js';
import { appendJournal, groupRuns, journalPath, readJournal } from './journal.js';
import { collectHistory } from './metrics.js';
import { Syncer } from './sync.js';
import { join } from 'node:path';

/** Delivery at the end of a run never takes longer than this; the journal keeps the rest for `mlflow sync`. */
const DELIVERY_BUDGET_MS = 30_000;

/**
 * The engine's MLflow observer: every event goes to the journal first (synchronously, so nothing
 * is lost); delivery to MLflow happens once, in close(), time-boxed, and never fails the run.
 */
export async function createTracker(root: string, log: ProgressOut = process.stderr): Promise<PipelineObserver> {
  const cfg = await loadTrackingConfig(root);
  const warn = (message: string) => log.write(`kd-pipeline: warning: tracking: ${message}\n`);
  let current: RunStartInfo | undefined;
  const later = `run \`kd-pipeline mlflow sync\` (or \`kd-pipeline mlflow ui\`) to deliver it`;
  return {
    runStarted(info) {
      current = info;
      appendJournal(root, { event: 'runStarted', info });
    },
    stageStarted(info) {
      appendJournal(root, { event: 'stageStarted', info });
    },
    async stageFinished(info) {
      // Skipped/restored stages link to the run that produced their history instead of re-logging it;
      // the final values of every stage's metrics files go on the stage's run and the pipeline's.
      const executed = info.result === 'ran' || info.result === 'failed';
      const metrics = executed ? await collectHistory(root, info.plots, warn) : [];
      const final: MetricsByFile = {};
      if (info.result === 'ran' || info.result === 'restored' || info.result === 'skipped') {
        for (const file of info.metrics) {
          // One bad file (edited since the stage ran) is a warning; the event and the other files are still journaled.
          try {
            const values = readMetricsFile(join(root, file), file);
            if (values) final[file] = values;
          } catch (error) {
            warn(`stage '${info.stage}': ${(error as Error).message}; not logged`);
          }
        }
      }
      appendJournal(root, { event: 'stageFinished', info, metrics, final });
    },
    runFinished(info) {
      appendJournal(root, { event: 'runFinished', info });
    },
    async close() {
      if (!current) return;
      if (!cfg.uri) {
        warn(`no MLflow server configured (MLFLOW_TRACKING_URI or tracking.uri in pipeline.yaml); the run is journaled in ${journalPath(root)}; ${later}`);
        return;
      }
      const deadline = Date.now() + DELIVERY_BUDGET_MS;
      const client = new MlflowClient({ uri: cfg.uri, deadline, timeoutMs: 10_000 });
      if (!(await new MlflowClient({ uri: cfg.uri, timeoutMs: 2000 }).health())) {
        warn(`MLflow at ${cfg.uri} is not reachable; the run is journaled; ${later}`);
        return;
      }
      const run = groupRuns(await readJournal(root)).find((r) => r.start.runId === current?.runId);
      if (!run) return;
      try {
        const report = await withDeadline(new Syncer(root, { ...cfg, uri: cfg.uri }, client).syncAll([run]), deadline);
        for (const w of report.warnings) warn(w);
      } catch (error) {
        warn(`delivery to ${cfg.uri} failed (${(error as Error).message}); the run is journaled; ${later}`);
      }
    },
  };
}

function withDeadline<T>(work: Promise<T>, deadline: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), Math.max(0, deadline - Date.now()));
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
