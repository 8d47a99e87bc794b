import type { Command } from 'commander';
import { KdError } from '../../errors.js';
import type { GcReport } from '../../pipeline/gc-plan.js';

export function register(program: Command): void {
  program
    .command('gc')
    .description('Remove cache entries that neither pipeline.lock nor an experiment trial references (and run-cache entries that needed them); with --remote, on a remote')
    .option('-n, --dry-run', 'only list what would be kept (and which lock entry keeps it) and what would be removed')
    .option('--wait', 'if a run is in progress in this project, wait for it instead of failing')
    .option('-a, --all-commits', 'also keep what every pipeline.lock committed in git (any branch or tag) references')
    .option('-r, --remote [name]', 'collect a remote\'s garbage instead (default: the default remote); only reports unless --force')
    .option('-f, --force', 'with --remote: delete')
    .option('-j, --jobs <n>', 'with --remote: requests in flight at once')
    .option('--json', 'print {removedObjects,removedBytes,keptObjects,removedRuns,dryRun,kept,removed,removedRunEntries} on stdout')
    .action(async (opts: { dryRun?: boolean; wait?: boolean; allCommits?: boolean; json?: boolean; remote?: string | true; force?: boolean; jobs?: string }) => {
      let report: GcReport;
      const allCommits = opts.allCommits === true;
      if (opts.remote !== undefined) {
        const { collectRemoteGarbage } = await import('../../pipeline/remote/remote-gc.js');
        const { DEFAULT_JOBS } = await import('../../pipeline/remote/open.js');
        const { parseTransferFlags } = await import('../transfer-flags.js');
        const flags = parseTransferFlags({ jobs: opts.jobs }, 'gc');
        const force = opts.force === true && opts.dryRun !== true;
        report = await collectRemoteGarbage(process.cwd(), opts.remote === true ? undefined : opts.remote, { force, jobs: flags.jobs ?? DEFAULT_JOBS, allCommits });
      } else {
        if (opts.force) throw new KdError('gc: --force is for gc --remote (a local gc deletes unless --dry-run)');
        const { collectGarbage } = await import('../../pipeline/gc.js');
        report = await collectGarbage(process.cwd(), opts.dryRun === true, opts.wait === true, allCommits);
      }
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(report)}\n`);
        return;
      }
      if (opts.dryRun) process.stdout.write(listing(report));
      const mb = (report.removedBytes / 1e6).toFixed(1);
      const verb = report.dryRun ? 'would remove' : 'removed';
      const where = opts.remote !== undefined ? 'remote' : 'cache';
      process.stdout.write(`${verb} ${report.removedObjects} ${where} objects (${mb} MB) and ${report.removedRuns} run-cache entries; kept ${report.keptObjects} objects${report.dryRun && opts.remote !== undefined ? ' (pass --force to delete)' : ''}\n`);
    });
}

/** `--dry-run`: one line per object kept (with the lock entry that keeps it) or removed, then per run-cache entry removed. */
function listing(report: GcReport): string {
  const lines = [
    ...report.kept.map((item) => `keep    ${item.hash.padEnd(36)}  ${String(item.size).padStart(10)} B  ${item.by}`),
    ...report.removed.map((item) => `remove  ${item.hash.padEnd(36)}  ${String(item.size).padStart(10)} B`),
    ...report.removedRunEntries.map((fingerprint) => `remove  run-cache entry ${fingerprint}`),
  ];
  return lines.map((line) => `${line}\n`).join('');
}
