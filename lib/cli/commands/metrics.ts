import type { Command } from 'commander';

interface DiffRow {
  path: string;
  key: string;
  old: number | null;
  new: number | null;
  change: number | null;
}

export function register(program: Command): void {
  const metrics = program.command('metrics').description('Show and compare the metrics files the stages declare');
  metrics
    .command('show')
    .description('The numbers in every declared metrics file')
    .option('--json', 'print {"metrics":{"<file>":{"<key>":value}}} on stdout')
    .action(async (opts: { json?: boolean }) => {
      const { workspaceMetrics } = await import('../metrics-files.js');
      const { metrics: values } = workspaceMetrics(process.cwd());
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ metrics: values })}\n`);
        return;
      }
      const rows = Object.entries(values).flatMap(([file, kv]) => Object.entries(kv).map(([k, v]) => [file, k, String(v)]));
      if (rows.length === 0) {
        process.stdout.write('no metrics files yet (run the pipeline first)\n');
        return;
      }
      const { renderTable } = await import('../table.js');
      process.stdout.write(renderTable(['path', 'metric', 'value'], rows));
    });
  metrics
    .command('diff')
    .description('Workspace metrics against those recorded in the last committed pipeline.lock (git HEAD)')
    .option('--rev <rev>', 'git revision whose pipeline.lock is the baseline', 'HEAD')
    .option('--lock <file>', 'compare with this lock file instead of a git revision')
    .option('--all', 'also list unchanged metrics')
    .option('--json', 'print {"baseline":…,"metrics":[{path,key,old,new,change}]} on stdout')
    .action(async (opts: { rev: string; lock?: string; all?: boolean; json?: boolean }) => {
      const { workspaceMetrics, baselineMetrics } = await import('../metrics-files.js');
      const { root, metrics: now } = workspaceMetrics(process.cwd());
      const baseline = await baselineMetrics(root, { rev: opts.rev, ...(opts.lock ? { lockFile: opts.lock } : {}) });
      const rows: DiffRow[] = [];
      for (const file of [...new Set([...Object.keys(baseline.metrics), ...Object.keys(now)])].sort()) {
        const a = baseline.metrics[file] ?? {};
        const b = now[file] ?? {};
        for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
          const old = a[key] ?? null;
          const value = b[key] ?? null;
          if (!opts.all && old === value) continue;
          rows.push({ path: file, key, old, new: value, change: old !== null && value !== null ? value - old : null });
        }
      }
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ baseline: baseline.label, metrics: rows })}\n`);
        return;
      }
      if (rows.length === 0) {
        process.stdout.write(`no metrics changed since ${baseline.label}\n`);
        return;
      }
      const fmt = (v: number | null) => (v === null ? '—' : String(Number(v.toPrecision(6))));
      const { renderTable } = await import('../table.js');
      process.stdout.write(renderTable(['path', 'metric', baseline.label, 'workspace', 'change'], rows.map((r) => [r.path, r.key, fmt(r.old), fmt(r.new), fmt(r.change)])));
    });
}
