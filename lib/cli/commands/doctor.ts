import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('doctor')
    .description('Check the environment: Node and tfjs versions, which tfjs backend loads (and why others do not), MLflow reachability')
    .option('--json', 'print the findings as one JSON document on stdout')
    .action(async (options: { json?: boolean }) => {
      const { probeTracking } = await import('../../tracking/probe.js');
      const { loadTf } = await import('../../ml/backend/backend.js');
      // The same loader the stages use, so doctor reports exactly the backend training gets.
      const [{ tf, info }, tracking] = await Promise.all([loadTf(), probeTracking(process.cwd())]);
      const report = { node: process.versions.node, tfjs: tf.version.tfjs, backend: info.backend, attempts: info.attempts, ...(info.kernels ? { kernels: info.kernels } : {}), tracking };
      if (options.json) {
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        return;
      }
      const lines = [
        `node     ${report.node}`,
        `tfjs     ${report.tfjs ?? 'not loadable'}`,
        `backend  ${report.backend ?? 'none'}`,
        ...report.attempts.map((a) => `  ${a.loaded ? 'ok  ' : 'no  '}${a.package}${a.error ? ` — ${a.error}` : ''}`),
        ...(report.backend === 'cpu' ? ['  hint: `npm run native` builds @tensorflow/tfjs-node against PyPI\'s TensorFlow for native speed (docs/native.md)'] : []),
        `mlflow   ${tracking.reachable ? 'reachable' : 'not reachable'} (${tracking.detail})`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
