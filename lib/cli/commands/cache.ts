import type { Command } from 'commander';

export function register(program: Command): void {
  const cache = program.command('cache').description('Inspect the content cache');
  cache
    .command('verify')
    .description('Check every object of the local cache (or a remote) against its hash, and every run-cache entry (parses, names objects that are there); exit 1 if anything is wrong')
    .option('-r, --remote [name]', 'check a remote (default: the default remote) instead of the local cache')
    .option('--repair', 'local: quarantine corrupt objects in .kd/quarantine/ (storing them again from workspace outs that still hold their bytes) and delete bad run-cache entries; remote: delete them, so the next push uploads good copies')
    .option('-j, --jobs <n>', 'with --remote: objects read at once')
    .option('--wait', 'with --repair: if a run is in progress in this project, wait for it instead of failing')
    .option('--json', 'print {store,remote,objects,runs,problems:[{key,kind,error}],repaired,restored} on stdout')
    .action(async (raw: { remote?: string | true; repair?: boolean; jobs?: string; wait?: boolean; json?: boolean }) => {
      const { parseTransferFlags } = await import('../transfer-flags.js');
      const flags = parseTransferFlags({ jobs: raw.jobs, json: raw.json === true, wait: raw.wait === true }, 'cache verify');
      const { verifyCache } = await import('../../pipeline/cache-verify.js');
      const { DEFAULT_JOBS } = await import('../../pipeline/remote/open.js');
      const remote = raw.remote === undefined ? undefined : raw.remote === true ? '' : raw.remote;
      const report = await verifyCache({ cwd: process.cwd(), ...(remote !== undefined ? { remote } : {}), repair: raw.repair === true, jobs: flags.jobs ?? DEFAULT_JOBS, wait: flags.wait });
      if (flags.json) process.stdout.write(`${JSON.stringify(report)}\n`);
      else {
        for (const problem of report.problems) process.stdout.write(`${problem.kind}: ${problem.error}\n`);
        const what = `${report.objects} objects and ${report.runs} run-cache entries in ${report.store}`;
        const restored = report.restored.length > 0 ? `; stored ${report.restored.length} quarantined objects again from the workspace` : '';
        if (report.problems.length === 0) process.stdout.write(`checked ${what}: all sound${restored}\n`);
        else if (raw.repair) process.stdout.write(`checked ${what}: ${report.problems.length} problems; repaired ${report.repaired.length}${restored}\n`);
        else process.stdout.write(`checked ${what}: ${report.problems.length} problems (run with --repair to quarantine or delete them)\n`);
      }
      if (report.problems.length > 0 && !raw.repair) process.exitCode = 1;
    });
}
