import type { Command } from 'commander';

/** Backends in order of preference: CUDA, native CPU, then pure JavaScript (always installed). */
const BACKEND_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs'] as const;

interface Attempt {
  package: string;
  loaded: boolean;
  error?: string;
}

/** Imports the backend packages in order and stops at the first that loads, recording why the others failed. */
async function probeBackends(): Promise<{ attempts: Attempt[]; backend: string | null; tfjs: string | null }> {
  const attempts: Attempt[] = [];
  for (const name of BACKEND_PACKAGES) {
    try {
      await import(name);
      attempts.push({ package: name, loaded: true });
      break;
    } catch (error) {
      const message = (error as Error).message.split('\n')[0] ?? String(error);
      attempts.push({ package: name, loaded: false, error: (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' ? 'not installed' : message });
    }
  }
  const tf = await import('@tensorflow/tfjs');
  await tf.ready();
  return { attempts, backend: tf.getBackend(), tfjs: tf.version.tfjs };
}

export function register(program: Command): void {
  program
    .command('doctor')
    .description('Check the environment: Node and tfjs versions, which tfjs backend loads (and why others do not), MLflow reachability')
    .option('--json', 'print the findings as one JSON document on stdout')
    .action(async (options: { json?: boolean }) => {
      const { probeTracking } = await import('../../tracking/probe.js');
      const [backends, tracking] = await Promise.all([probeBackends(), probeTracking(process.cwd())]);
      const report = { node: process.versions.node, tfjs: backends.tfjs, backend: backends.backend, attempts: backends.attempts, tracking };
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
