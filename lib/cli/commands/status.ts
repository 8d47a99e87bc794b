import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('status')
    .description('Which stages are out of date with pipeline.lock, and why')
    .option('--json', 'print {"stages":[{name,upToDate,reasons}]} on stdout')
    .option('--check', 'exit with code 1 if any stage would run (a CI reproduction gate)')
    .action(async (opts: { json?: boolean; check?: boolean }) => {
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
