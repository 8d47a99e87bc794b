import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('status')
    .description('Which stages are out of date with pipeline.lock, and why; with --remote, whether a remote holds what the lock names')
    .option('--json', 'print {"stages":[{name,upToDate,reasons}]} on stdout (with --remote: {"remote","url","stages":[{name,inRemote,reasons}]})')
    .option('--check', 'exit with code 1 if any stage would run (a CI reproduction gate); with --remote, if the remote lacks anything')
    .option('-r, --remote [name]', 'compare pipeline.lock with a remote (default: the default remote) instead of the workspace')
    .option('-j, --jobs <n>', 'with --remote: requests in flight at once')
    .action(async (opts: { json?: boolean; check?: boolean; remote?: string | true; jobs?: string }) => {
      if (opts.remote !== undefined) {
        const { remoteStatus } = await import('../../pipeline/remote/remote-status.js');
        const { DEFAULT_JOBS } = await import('../../pipeline/remote/open.js');
        const { parseTransferFlags } = await import('../transfer-flags.js');
        const flags = parseTransferFlags({ jobs: opts.jobs }, 'status');
        const status = await remoteStatus(process.cwd(), opts.remote === true ? undefined : opts.remote, flags.jobs ?? DEFAULT_JOBS);
        if (opts.json) process.stdout.write(`${JSON.stringify(status)}\n`);
        else {
          for (const stage of status.stages) {
            process.stdout.write(stage.inRemote ? `${stage.name}: on the remote\n` : `${stage.name}: missing\n${stage.reasons.map((r) => `    ${r}\n`).join('')}`);
          }
          const missing = status.stages.filter((s) => !s.inRemote).length;
          process.stdout.write(missing === 0 ? `remote '${status.remote}' (${status.url}) holds everything pipeline.lock names\n` : `${missing} of ${status.stages.length} stages are not (wholly) on remote '${status.remote}' (${status.url})\n`);
        }
        if (opts.check && status.stages.some((s) => !s.inRemote)) process.exitCode = 1;
        return;
      }
      const { projectStatus } = await import('../../pipeline/status.js');
      const { stages } = await projectStatus(process.cwd());
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ stages })}\n`);
      } else {
        for (const stage of stages) {
          process.stdout.write(stage.upToDate ? `${stage.name}: up to date\n` : `${stage.name}: changed\n${stage.reasons.map((r) => `    ${r}\n`).join('')}`);
        }
        const changed = stages.filter((s) => !s.upToDate).length;
        process.stdout.write(changed === 0 ? 'pipeline is up to date\n' : `${changed} of ${stages.length} stages changed\n`);
      }
      if (opts.check && stages.some((s) => !s.upToDate)) process.exitCode = 1;
    });
}
