import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('gc')
    .description('Remove cache entries that pipeline.lock no longer references (and run-cache entries that needed them)')
    .option('-n, --dry-run', 'only report what would be removed')
    .option('--wait', 'if a run is in progress in this project, wait for it instead of failing')
    .option('--json', 'print {removedObjects,removedBytes,keptObjects,removedRuns,dryRun} on stdout')
    .action(async (opts: { dryRun?: boolean; wait?: boolean; json?: boolean }) => {
      const { collectGarbage } = await import('../../pipeline/gc.js');
      const report = await collectGarbage(process.cwd(), opts.dryRun === true, opts.wait === true);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(report)}\n`);
        return;
      }
      const mb = (report.removedBytes / 1e6).toFixed(1);
      const verb = report.dryRun ? 'would remove' : 'removed';
      process.stdout.write(`${verb} ${report.removedObjects} cache objects (${mb} MB) and ${report.removedRuns} run-cache entries; kept ${report.keptObjects} objects\n`);
    });
}
