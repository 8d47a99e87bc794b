import type { Command } from 'commander';
import { z } from 'zod';
import { parseOrThrow } from '../../validation.js';

const flags = z.object({
  jobs: z.coerce.number().int().min(1, 'must be at least 1').default(1),
  once: z.boolean().default(false),
  json: z.boolean().default(false),
});

export function register(program: Command): void {
  program
    .command('worker')
    .description('Run trials of sweeps enqueued with `exp run --queue` (on any machine with a clone of the project), restoring and pushing through the default remote')
    .argument('<queue>', 'the queue: redis://HOST:PORT/DB')
    .option('-j, --jobs <n>', 'trials to run at once', '1')
    .option('--once', 'exit once the queue has no trial left (waiting or running anywhere)')
    .option('--json', 'print {"trials":[{"id","job","status","error"?}]} on stdout when the worker stops')
    .action(async (queue: string, raw: Record<string, unknown>) => {
      const options = parseOrThrow(flags, raw, 'kd-pipeline worker', []);
      const { runWorker } = await import('../../pipeline/queue/worker.js');
      const { createTracker } = await import('../../tracking/index.js');
      const report = await runWorker({
        cwd: process.cwd(),
        queue,
        jobs: options.jobs,
        once: options.once,
        argv: process.argv.slice(2),
        out: process.stderr,
        observers: async (root, log) => [await createTracker(root, log)],
      });
      if (options.json) process.stdout.write(`${JSON.stringify({ trials: report.trials })}\n`);
      const ok = report.trials.filter((t) => t.status === 'ok').length;
      process.stderr.write(`kd-pipeline: worker: ${ok} trials ok, ${report.trials.length - ok} failed or handed back\n`);
      process.exitCode = report.signal === 'SIGINT' ? 130 : report.signal === 'SIGTERM' ? 143 : 0;
    });
}
