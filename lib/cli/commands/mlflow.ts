import type { Command } from 'commander';
import { KdError } from '../../errors.js';

async function syncJournal(root: string, uri: string | null) {
  const { loadTrackingConfig } = await import('../../tracking/config.js');
  const { readJournal, groupRuns } = await import('../../tracking/journal.js');
  const { Syncer } = await import('../../tracking/sync.js');
  const { MlflowClient } = await import('../../tracking/client.js');
  const cfg = await loadTrackingConfig(root);
  const target = uri ?? cfg.uri;
  if (!target) throw new KdError('mlflow sync: no MLflow server configured: set MLFLOW_TRACKING_URI or tracking.uri in pipeline.yaml (or use `kd-pipeline mlflow ui`)');
  if (!(await new MlflowClient({ uri: target, timeoutMs: 5000 }).health())) throw new KdError(`mlflow sync: MLflow at ${target} does not answer /health`);
  const runs = groupRuns(await readJournal(root));
  const report = await new Syncer(root, { ...cfg, uri: target }).syncAll(runs);
  for (const w of report.warnings) process.stderr.write(`kd-pipeline: warning: ${w}\n`);
  const { runsViewUrl } = await import('../../tracking/client.js');
  const experimentId = await new MlflowClient({ uri: target }).getOrCreateExperiment(cfg.experiment);
  return { uri: target, runsInJournal: runs.length, runsView: runsViewUrl(target, experimentId), ...report };
}

export function register(program: Command): void {
  const mlflow = program.command('mlflow').description('Deliver the tracking journal to MLflow and browse runs in the MLflow UI');
  mlflow
    .command('sync')
    .description('Replay the journal (.kd/tracking/journal.jsonl) to the MLflow server, idempotently')
    .option('--json', 'print the sync report as JSON on stdout')
    .action(async (opts: { json?: boolean }) => {
      const report = await syncJournal((await import('../project-root.js')).currentProjectRoot(), null);
      if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
      else process.stderr.write(`synced ${report.runsInJournal} runs to ${report.uri}: ${report.runsCreated} new runs, ${report.stageRunsCreated} new stage runs${report.modelVersions.length ? `, registered ${report.modelVersions.join(', ')}` : ''}\n`);
    });
  mlflow
    .command('ui')
    .description('Start a local MLflow server (SQLite under .kd/mlflow), sync the journal into it and print the URL of the experiment\'s runs view; Ctrl-C stops it')
    .option('--port <port>', 'port on 127.0.0.1', '5001')
    .action(async (opts: { port: string }) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new KdError(`mlflow ui: --port: expected a port number, got ${JSON.stringify(opts.port)}`);
      const { findMlflow, startMlflowServer } = await import('../../tracking/local-server.js');
      const { join } = await import('node:path');
      const root = (await import('../project-root.js')).currentProjectRoot();
      const bin = findMlflow(root);
      if (!bin) throw new KdError('mlflow ui: the `mlflow` command is not installed: `pip install mlflow` (or `npm test` once, which installs it into .venv/)');
      const server = await startMlflowServer(bin, join(root, '.kd', 'mlflow'), port);
      let url: string;
      try {
        const report = await syncJournal(root, server.uri);
        process.stderr.write(`synced ${report.runsInJournal} runs\n`);
        url = report.runsView;
      } catch (error) {
        await server.stop();
        throw error;
      }
      process.stdout.write(`${url}\n`);
      const stop = () => void server.stop();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await new Promise((r) => server.process.once('exit', r));
    });
}
