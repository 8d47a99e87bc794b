import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('push')
    .description('Upload the outputs pipeline.lock names, and run-cache entries with their outputs, to a remote (only what it lacks)')
    .argument('[stages...]', 'only these stages\' outputs (default: every stage)')
    .option('-r, --remote <name>', 'remote to push to (default: the default remote)')
    .option('-j, --jobs <n>', 'objects in flight at once (default: 4 × CPU cores, at least 8)')
    .option('--no-run-cache', 'only the lock\'s outputs, no run-cache entries')
    .option('--json', 'print {"pushed":n,"skipped":n,"bytes":n} on stdout')
    .action(async (targets: string[], raw: Record<string, unknown>) => {
      const { parseTransferFlags, reportFailures } = await import('../transfer-flags.js');
      const flags = parseTransferFlags(raw, 'push');
      const { push } = await import('../../pipeline/remote/sync.js');
      const { DEFAULT_JOBS } = await import('../../pipeline/remote/open.js');
      const report = await push({ cwd: process.cwd(), targets, ...(flags.remote ? { remote: flags.remote } : {}), jobs: flags.jobs ?? DEFAULT_JOBS, runCache: flags.runCache });
      reportFailures('push', report.failed);
      if (report.failed.some((f) => f.reason === 'corrupt')) {
        process.stderr.write('kd-pipeline: hint: `kd-pipeline cache verify --repair` stores quarantined objects again from workspace outs that still hold their bytes (or rerun their stages with `run -f`); then push again\n');
      }
      if (flags.json) process.stdout.write(`${JSON.stringify({ pushed: report.pushed, skipped: report.skipped, bytes: report.bytes })}\n`);
      else {
        const { formatBytes } = await import('../../pipeline/remote/format.js');
        process.stdout.write(`pushed ${report.pushed} objects (${formatBytes(report.bytes)}) to '${report.remote}' (${report.url}); ${report.skipped} were already there\n`);
      }
      if (report.failed.length > 0) process.exitCode = 1;
    });
}
