import type { Command } from 'commander';

export function register(program: Command): void {
  const params = program.command('params').description('Inspect params.yaml against pipeline.lock');
  params
    .command('diff')
    .description('Params the stages declare whose workspace value differs from the one recorded in pipeline.lock')
    .option('--json', 'print {"params":[{file,key,old,new}]} on stdout')
    .option('--all', 'also list unchanged params')
    .action(async (opts: { json?: boolean; all?: boolean }) => {
      const { paramsDiff } = await import('../params-diff.js');
      const rows = paramsDiff(process.cwd(), opts.all === true);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ params: rows })}\n`);
        return;
      }
      if (rows.length === 0) {
        process.stdout.write('no params changed since pipeline.lock\n');
        return;
      }
      const show = (v: unknown) => (v === null ? '—' : JSON.stringify(v));
      const { renderTable } = await import('../table.js');
      process.stdout.write(renderTable(['file', 'param', 'lock', 'workspace'], rows.map((r) => [r.file, r.key, show(r.old), show(r.new)])));
    });
}
