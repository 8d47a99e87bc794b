import path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { KdError } from '../../errors.js';
import { parseOrThrow } from '../../validation.js';
import type { SweepOptions } from '../../pipeline/experiments/sweep.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];
const sortOrder = z.enum(['asc', 'desc']).optional();

const runFlags = z.object({
  set: z.array(z.string()).default([]),
  random: z.coerce.number().int().min(1, 'must be at least 1').optional(),
  seed: z.coerce.number().int().default(0),
  jobs: z.coerce.number().int().min(1, 'must be at least 1').default(1),
  name: z.string().optional(),
  sortBy: z.string().min(1).optional(),
  sortOrder,
  json: z.boolean().default(false),
  queue: z.string().min(1).optional(),
  wait: z.boolean().default(false),
});

const showFlags = z.object({
  json: z.boolean().default(false),
  csv: z.boolean().default(false),
  md: z.boolean().default(false),
  sortBy: z.string().min(1).optional(),
  sortOrder,
  onlyChanged: z.boolean().default(false),
});

const reportFlags = z.object({
  out: z.string().min(1, 'must name a folder').optional(),
  json: z.boolean().default(false),
});

/** What a sweep is asked to be, here or on a queue: the flags, progress on stderr, MLflow tracking. */
async function sweepOptions(flags: z.infer<typeof runFlags>): Promise<Omit<SweepOptions, 'jobs'>> {
  const { createTracker } = await import('../../tracking/index.js');
  return {
    cwd: process.cwd(),
    set: flags.set,
    ...(flags.random !== undefined ? { random: flags.random } : {}),
    seed: flags.seed,
    ...(flags.name !== undefined ? { name: flags.name } : {}),
    ...(flags.sortBy ? { sortBy: flags.sortBy } : {}),
    ...(flags.sortOrder ? { sortOrder: flags.sortOrder } : {}),
    argv: process.argv.slice(2),
    out: process.stderr,
    observers: async (root, log) => [await createTracker(root, log)],
  };
}

/** `exp run --queue`: enqueue (and with --wait follow) the sweep's trials. */
async function enqueue(flags: z.infer<typeof runFlags> & { queue?: string }): Promise<void> {
  const { enqueueSweep } = await import('../../pipeline/queue/enqueue.js');
  const report = await enqueueSweep({ ...(await sweepOptions(flags)), queue: flags.queue as string, wait: flags.wait });
  const { trialRow } = await import('../../pipeline/experiments/table.js');
  const failed = report.trials.filter((t) => t.status === 'failed').length;
  if (flags.wait) process.stderr.write(`kd-pipeline: sweep ${report.sweep}: ${report.trials.length - failed} trials ok, ${failed} failed; \`kd-pipeline exp show ${report.sweep}\` compares them\n`);
  if (flags.json) process.stdout.write(`${JSON.stringify(flags.wait ? { sweep: report.sweep, experiments: report.trials.map(trialRow) } : { sweep: report.sweep, jobs: report.jobs })}\n`);
  process.exitCode = failed > 0 ? 1 : 0;
}

/** Queued sweeps' records brought up to date from their queue (all sweeps, or the one named). */
async function refreshQueued(sweep: string | undefined): Promise<void> {
  const { refreshQueuedSweeps } = await import('../../pipeline/queue/results.js');
  const { listSweeps } = await import('../../pipeline/experiments/store.js');
  const { projectPaths } = await import('../../pipeline/project.js');
  const paths = projectPaths((await import('../project-root.js')).currentProjectRoot());
  const names = sweep !== undefined ? [sweep] : listSweeps(paths).map((s) => s.name);
  await refreshQueuedSweeps(paths, names, (message) => process.stderr.write(`kd-pipeline: warning: ${message}\n`));
}

export function register(program: Command): void {
  const exp = program.command('exp').description('Experiments: grid and random sweeps over params.yaml that share the cache, compared in one table');
  exp
    .command('run')
    .description('Run a sweep: every combination of the -S values (or --random N of them), each trial in its own workspace under .kd/exp/')
    .option('-S, --set <key=values>', 'key=a,b,c | key=range(start, stop, step) | key=choice(a, b, …) (repeatable; a single value sets the key in every trial)', collect)
    .option('--random <n>', 'run n trials drawn at random from the grid instead of all of it')
    .option('--seed <n>', 'seed of the --random draw', '0')
    .option('-j, --jobs <n>', 'trials to run in parallel', '1')
    .option('-n, --name <name>', 'name of the sweep (default: sweep-<n>); trial ids are <name>.<n>')
    .option('--sort-by <key>', 'metric (or param) whose best value so far the progress shows')
    .option('--sort-order <order>', 'asc | desc (default: asc for losses, errors, latencies, sizes and times, desc otherwise)')
    .option('--queue <url>', 'enqueue the trials on redis://HOST:PORT/DB for `kd-pipeline worker`s instead of running them here (pushes what they need to the default remote first)')
    .option('--wait', 'with --queue: follow the trials until all have ended, with the same progress lines')
    .option('--json', 'print {"sweep","experiments":[…]} (the rows of `exp show --json`) on stdout at the end; with --queue and no --wait, {"sweep","jobs":[ids]}')
    .action(async (raw: Record<string, unknown>) => {
      const flags = parseOrThrow(runFlags, raw, 'kd-pipeline exp run', []);
      if (flags.wait && !flags.queue) throw new KdError('exp run: --wait goes with --queue');
      if (flags.queue && flags.jobs !== 1) throw new KdError("exp run: --jobs is for trials run here; with --queue, each worker's --jobs says how many it runs at once");
      if (flags.queue) return enqueue(flags);
      const { runSweep } = await import('../../pipeline/experiments/sweep.js');
      const report = await runSweep({ ...(await sweepOptions(flags)), jobs: flags.jobs });
      const failed = report.trials.filter((t) => t.status === 'failed').length;
      process.stderr.write(`kd-pipeline: sweep ${report.sweep}: ${report.trials.length - failed} trials ok, ${failed} failed${report.interrupted ? ' (interrupted)' : ''}; \`kd-pipeline exp show ${report.sweep}\` compares them\n`);
      if (flags.json) {
        const { trialRow } = await import('../../pipeline/experiments/table.js');
        process.stdout.write(`${JSON.stringify({ sweep: report.sweep, experiments: report.trials.map(trialRow) })}\n`);
      }
      process.exitCode = report.interrupted ? 130 : failed > 0 ? 1 : 0;
    });
  exp
    .command('show')
    .description('One row per trial (and one for the workspace): status, time, swept params and every metric')
    .argument('[sweep]', 'only this sweep')
    .option('--json', 'print {"experiments":[{id,sweep,status,params,metrics,stages,seconds}]} on stdout')
    .option('--csv', 'print the table as CSV')
    .option('--md', 'print the table as Markdown')
    .option('--sort-by <key>', 'order the trials by a metric or param (best first)')
    .option('--sort-order <order>', 'asc | desc (default: asc for losses, errors, latencies, sizes and times, desc otherwise)')
    .option('--only-changed', 'only the params and metrics whose value differs between rows')
    .action(async (sweep: string | undefined, raw: Record<string, unknown>) => {
      const flags = parseOrThrow(showFlags, raw, 'kd-pipeline exp show', []);
      if ([flags.json, flags.csv, flags.md].filter(Boolean).length > 1) throw new KdError('exp show: --json, --csv and --md are alternatives; pass one');
      await refreshQueued(sweep);
      const { experimentRows, onlyChanged, sortRows, tableCells } = await import('../../pipeline/experiments/table.js');
      let rows = await experimentRows(process.cwd(), sweep);
      if (flags.sortBy) rows = sortRows(rows, flags.sortBy, flags.sortOrder);
      if (flags.onlyChanged) rows = onlyChanged(rows);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ experiments: rows })}\n`);
        return;
      }
      const { header, cells } = tableCells(rows);
      if (flags.csv) {
        const { stringify } = await import('csv-stringify/sync');
        process.stdout.write(stringify([header, ...cells]));
      } else if (flags.md) {
        const line = (row: string[]) => `| ${row.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`;
        process.stdout.write(`${[line(header), line(header.map(() => '---')), ...cells.map(line)].join('\n')}\n`);
      } else {
        const { renderTable } = await import('../table.js');
        process.stdout.write(rows.length > 1 ? renderTable(header, cells) : 'no experiments yet (`kd-pipeline exp run -S key=a,b` starts a sweep)\n');
      }
    });
  exp
    .command('report')
    .description("The trade-off charts (accuracy vs parameters, size and latency) over every trial's student, with their Pareto frontier: an HTML page and SVGs")
    .argument('[sweep]', 'only this sweep')
    .option('-o, --out <dir>', 'folder of the report, replaced whole (default: artifacts/sweep-report)')
    .option('--json', 'print {"out","teachers","students","frontier":{"params","size_bytes","latency_p50_ms"},"skipped"} on stdout')
    .action(async (sweep: string | undefined, raw: Record<string, unknown>) => {
      const flags = parseOrThrow(reportFlags, raw, 'kd-pipeline exp report', []);
      await refreshQueued(sweep);
      const { writeSweepReport } = await import('../../ml/evaluate/sweep-report.js');
      const root = (await import('../project-root.js')).currentProjectRoot();
      const report = await writeSweepReport(root, { ...(sweep !== undefined ? { sweep } : {}), ...(flags.out !== undefined ? { out: path.resolve(flags.out) } : {}) });
      if (flags.json) process.stdout.write(`${JSON.stringify(report)}\n`);
      const frontier = report.frontier.params.map((s) => s.id).join(' → ');
      process.stderr.write(`exp report: ${report.students.length} students, frontier by parameters ${frontier}; open ${path.join(path.relative(process.cwd(), report.out) || '.', 'index.html')}\n`);
    });
  exp
    .command('apply')
    .description("Make a trial the workspace: its params into params.yaml (comments kept), its outputs out of the cache; nothing is retrained")
    .argument('<id>', 'trial id, e.g. sweep-1.3')
    .option('--json', 'print {"id","params":[keys],"checkedOut":[paths]} on stdout')
    .action(async (id: string, opts: { json?: boolean }) => {
      await refreshQueued(/^(.+)\.\d+$/.exec(id)?.[1] ?? id);
      const { fetchTrialOutputs } = await import('../../pipeline/queue/fetch-trial.js');
      await fetchTrialOutputs(process.cwd(), id);
      const { applyTrial } = await import('../../pipeline/experiments/apply.js');
      const report = await applyTrial(process.cwd(), id);
      for (const warning of report.warnings) process.stderr.write(`kd-pipeline: warning: ${warning}\n`);
      if (opts.json) process.stdout.write(`${JSON.stringify({ id: report.id, params: report.params, checkedOut: report.checkedOut })}\n`);
      else process.stderr.write(`applied ${report.id}: ${report.params.length} params changed (${report.params.join(', ') || 'none'}), ${report.checkedOut.length} outputs checked out of the cache\n`);
    });
  exp
    .command('remove')
    .description('Remove a trial, a sweep or every experiment (their workspaces; `gc` then frees the cache they alone used)')
    .argument('[id]', 'trial id, e.g. sweep-1.3')
    .option('--sweep <name>', 'remove a whole sweep')
    .option('--all', 'remove every sweep')
    .option('--json', 'print {"removed":[ids]} on stdout')
    .action(async (id: string | undefined, opts: { sweep?: string; all?: boolean; json?: boolean }) => {
      if ([id !== undefined, opts.sweep !== undefined, opts.all === true].filter(Boolean).length !== 1) throw new KdError('exp remove: give one of ID, --sweep NAME or --all');
      const { removeExperiments } = await import('../../pipeline/experiments/store.js');
      const { projectPaths } = await import('../../pipeline/project.js');
      const root = (await import('../project-root.js')).currentProjectRoot();
      const removed = removeExperiments(projectPaths(root), { ...(id !== undefined ? { id } : {}), ...(opts.sweep !== undefined ? { sweep: opts.sweep } : {}), all: opts.all === true });
      if (opts.json) process.stdout.write(`${JSON.stringify({ removed })}\n`);
      else process.stderr.write(`removed ${removed.length} trials\n`);
    });
  const queue = exp.command('queue').description('Sweeps enqueued with `exp run --queue`: where their trials are, and cancelling them');
  queue
    .command('status')
    .description("Each trial of a queued sweep: its job's state (waiting, active, completed, failed), progress and attempts")
    .argument('[sweep]', 'only this sweep (default: every queued sweep)')
    .option('--json', 'print {"sweeps":[{"sweep","queue","trials":[{"id","job","state","progress","attempts","error"?}]}]} on stdout')
    .action(async (sweep: string | undefined, opts: { json?: boolean }) => {
      const { queueStatus } = await import('../../pipeline/queue/status.js');
      const sweeps = await queueStatus((await import('../project-root.js')).currentProjectRoot(), sweep);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ sweeps })}\n`);
        return;
      }
      const { renderTable } = await import('../table.js');
      const rows = sweeps.flatMap((s) => s.trials.map((t) => [t.id, t.state, t.progress === null ? '' : JSON.stringify(t.progress), String(t.attempts), t.error ?? '']));
      process.stdout.write(rows.length > 0 ? renderTable(['trial', 'state', 'progress', 'attempts', 'error'], rows) : 'no queued sweeps\n');
    });
  queue
    .command('cancel')
    .description('Remove the trials of a queued sweep that no worker has started; running ones finish')
    .argument('<sweep>', 'the sweep')
    .option('--json', 'print {"cancelled":[ids],"running":[ids]} on stdout')
    .action(async (sweep: string, opts: { json?: boolean }) => {
      const { cancelSweep } = await import('../../pipeline/queue/status.js');
      const report = await cancelSweep((await import('../project-root.js')).currentProjectRoot(), sweep);
      if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
      else process.stderr.write(`cancelled ${report.cancelled.length} trials of ${sweep}${report.running.length > 0 ? `; ${report.running.join(', ')} already running (they finish)` : ''}\n`);
    });
}
