import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { z } from 'zod';
import { KdError } from '../../errors.js';
import { parseOrThrow } from '../../validation.js';

const runFlags = z.object({
  force: z.boolean().default(false),
  downstream: z.boolean().default(false),
  singleStage: z.boolean().default(false),
  dryRun: z.boolean().default(false),
  jobs: z.coerce.number().int().min(1, 'must be at least 1').optional(),
  keepGoing: z.boolean().default(false),
  runCache: z.boolean().default(true),
  pull: z.boolean().default(false),
  remote: z.string().min(1).optional(),
  wait: z.boolean().default(false),
  json: z.boolean().default(false),
  set: z.array(z.string()).default([]),
});

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function register(program: Command): void {
  program
    .command('run')
    .description('Run the stages whose cmd, deps or params changed (all, or the given stages and what they need)')
    .argument('[stages...]', 'stages to run, with their upstream stages (default: the whole pipeline)')
    .option('-f, --force', 'run the selected stages even if they are up to date')
    .option('--downstream', 'run the given stages and everything downstream of them')
    .option('-s, --single-stage', 'run only the given stages, not their upstream')
    .option('--dry-run', 'print what would run, run nothing')
    .option('-j, --jobs <n>', 'stages to run in parallel (default: number of CPU cores)')
    .option('-k, --keep-going', 'after a failure, keep running every branch that does not depend on it')
    .option('--no-run-cache', 'never restore a stage from an earlier run with the same fingerprint')
    .option('--pull', 'before running a stage, restore its outputs or run-cache entry from the remote if it has them')
    .option('-r, --remote <name>', 'remote for --pull (default: the default remote)')
    .option('--wait', 'if another run is in progress in this project, wait for it instead of failing')
    .option('-S, --set <key=value>', 'set a params.yaml value before running (repeatable)', collect)
    .option('--json', 'print {"stages":[{name,result,seconds}]} on stdout once the run ends (logs go to stderr)')
    .action(async (targets: string[], raw: Record<string, unknown>) => {
      const flags = parseOrThrow(runFlags, raw, 'kd-pipeline run', []);
      if (flags.remote && !flags.pull) throw new KdError('run: --remote names the remote for --pull; pass --pull too');
      if (flags.dryRun) {
        const { dryRun } = await import('../dry-run.js');
        await dryRun(targets, flags);
        return;
      }
      const { runPipeline } = await import('../../pipeline/engine.js');
      const report = await runPipeline({
        cwd: process.cwd(),
        targets,
        force: flags.force,
        downstream: flags.downstream,
        singleStage: flags.singleStage,
        jobs: flags.jobs ?? availableParallelism(),
        keepGoing: flags.keepGoing,
        runCache: flags.runCache,
        pull: flags.pull,
        ...(flags.remote ? { remote: flags.remote } : {}),
        wait: flags.wait,
        set: flags.set,
        argv: process.argv.slice(2),
        observers: async (root) => {
          const { createTracker } = await import('../../tracking/index.js');
          return [await createTracker(root)];
        },
      });
      const { printRunReport } = await import('../run-report.js');
      process.exitCode = printRunReport(report, flags.json);
    });
}
