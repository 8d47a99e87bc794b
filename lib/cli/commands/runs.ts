import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('runs')
    .description('Past pipeline runs from the tracking journal: time, git commit, changed params, key metrics')
    .option('--json', 'print the runs as one JSON array on stdout')
    .action(async (opts: { json?: boolean }) => {
      const { readJournal, groupRuns } = await import('../../tracking/journal.js');
      const { summarizeRuns, renderRunTable } = await import('../../tracking/run-table.js');
      const rows = summarizeRuns(groupRuns(await readJournal((await import('../project-root.js')).currentProjectRoot())));
      if (opts.json) process.stdout.write(`${JSON.stringify(rows)}\n`);
      else process.stdout.write(rows.length ? `${renderRunTable(rows)}\n` : 'no runs journaled yet (kd-pipeline run records them in .kd/tracking/journal.jsonl)\n');
    });
}
