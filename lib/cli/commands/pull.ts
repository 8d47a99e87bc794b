import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('pull')
    .description('Download the outputs pipeline.lock names, and run-cache entries with their outputs, from a remote (each verified by its hash), then check out missing outputs')
    .argument('[stages...]', 'only these stages\' outputs (default: every stage)')
    .option('-r, --remote <name>', 'remote to pull from (default: the default remote)')
    .option('-j, --jobs <n>', 'objects in flight at once (default: 4 × CPU cores, at least 8)')
    .option('--no-run-cache', 'only the lock\'s outputs, no run-cache entries')
    .option('--wait', 'if a run is in progress in this project, wait for it instead of failing')
    .option('--json', 'print {"pulled":n,"skipped":n,"bytes":n,"failed":[{key,reason,error}]} on stdout')
    .action(async (targets: string[], raw: Record<string, unknown>) => {
      const { parseTransferFlags, reportFailures } = await import('../transfer-flags.js');
      const flags = parseTransferFlags(raw, 'pull');
      const { pull } = await import('../../pipeline/remote/sync.js');
      const { DEFAULT_JOBS } = await import('../../pipeline/remote/open.js');
      const report = await pull({ cwd: process.cwd(), targets, ...(flags.remote ? { remote: flags.remote } : {}), jobs: flags.jobs ?? DEFAULT_JOBS, runCache: flags.runCache, wait: flags.wait });
      reportFailures('pull', report.failed);
      if (flags.json) process.stdout.write(`${JSON.stringify({ pulled: report.pulled, skipped: report.skipped, bytes: report.bytes, failed: report.failed })}\n`);
      else {
        const { formatBytes } = await import('../../pipeline/remote/format.js');
        process.stdout.write(`pulled ${report.pulled} objects (${formatBytes(report.bytes)}) from '${report.remote}' (${report.url}); ${report.skipped} were already here; checked out ${report.checkedOut.length} outputs\n`);
      }
      if (report.failed.length > 0) process.exitCode = 1;
    });
}
