import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('doctor')
    .description('Check the environment: Node and tfjs versions, which tfjs backend loads (and why others do not), the teacher\'s encoder and ONNX Runtime\'s execution provider, MLflow reachability')
    .option('--json', 'print the findings as one JSON document on stdout')
    .action(async (options: { json?: boolean }) => {
      const { probeTracking } = await import('../../tracking/probe.js');
      const { loadTf } = await import('../../ml/backend/backend.js');
      const { encoderReport } = await import('../../ml/teacher/encoder-report.js');
      const { findProjectRoot } = await import('../../pipeline/spec.js');
      let root: string | undefined;
      try {
        root = findProjectRoot(process.cwd());
      } catch {
        root = undefined; // not inside a project: no encoder to report
      }
      // The same loaders the stages use, so doctor reports exactly the backend and provider training gets.
      const [{ tf, info }, tracking, teacher] = await Promise.all([loadTf(), probeTracking(process.cwd()), root ? encoderReport(root) : undefined]);
      const report = {
        node: process.versions.node,
        tfjs: tf.version.tfjs,
        backend: info.backend,
        attempts: info.attempts,
        ...(info.kernels ? { kernels: info.kernels } : {}),
        ...(teacher ?? { encoder: { loaded: false, folder: null, error: 'not in a project (no pipeline.yaml here or above)' } }),
        tracking,
      };
      if (options.json) {
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        return;
      }
      const encoder = report.encoder;
      const lines = [
        `node     ${report.node}`,
        `tfjs     ${report.tfjs ?? 'not loadable'}`,
        `backend  ${report.backend ?? 'none'}`,
        ...report.attempts.map((a) => `  ${a.loaded ? 'ok  ' : 'no  '}${a.package}${a.error ? ` — ${a.error}` : ''}`),
        ...(report.backend === 'cpu' ? ['  hint: `npm run native` builds @tensorflow/tfjs-node against PyPI\'s TensorFlow for native speed (docs/native.md)'] : []),
        ...(teacher ? [`onnx     onnxruntime-node ${teacher.onnxruntime.version}, providers installed: ${teacher.onnxruntime.providers.join(', ')}`] : []),
        encoder.loaded
          ? `encoder  ${encoder.model} (${encoder.dtype}, ${encoder.dimension}-d, ${(encoder.params / 1e6).toFixed(1)}M params) on ${encoder.provider}, from ${encoder.source}, fingerprint ${encoder.fingerprint.slice(0, 12)}`
          : `encoder  not loaded: ${encoder.error}`,
        `mlflow   ${tracking.reachable ? 'reachable' : 'not reachable'} (${tracking.detail})`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
