import type { Command } from 'commander';

const collect = (value: string, previous: string[] = []) => [...previous, value];

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
    .option('--fail-on <expr>', 'exit 1 when new − old of KEY is below (<) or above (>) DELTA, e.g. "student.accuracy<-0.01" (repeatable; a CI gate)', collect)
    .option('--json', 'print {"baseline":…,"metrics":[{path,key,old,new,change}],"failed":[…]} on stdout')
    .action(async (opts: { rev: string; lock?: string; all?: boolean; json?: boolean; failOn?: string[] }) => {
      const { diffRows, parseGates, checkGates, describeFailure, formatValue: fmt } = await import('../metrics-diff.js');
      // Checked before anything is read, so a typo in CI fails at once and names the value.
      const gates = parseGates(opts.failOn ?? []);
      const { workspaceMetrics, baselineMetrics } = await import('../metrics-files.js');
      const { root, metrics: now } = workspaceMetrics(process.cwd());
      const baseline = await baselineMetrics(root, { rev: opts.rev, ...(opts.lock ? { lockFile: opts.lock } : {}) });
      const rows = diffRows(baseline.metrics, now, opts.all === true);
      const failed = checkGates(gates, baseline, now);
      if (failed.length > 0) process.exitCode = 1;
      if (opts.json) process.stdout.write(`${JSON.stringify({ baseline: baseline.label, metrics: rows, failed })}\n`);
      else if (rows.length === 0) process.stdout.write(`no metrics changed since ${baseline.label}\n`);
      else {
        const { renderTable } = await import('../table.js');
        process.stdout.write(renderTable(['path', 'metric', baseline.label, 'workspace', 'change'], rows.map((r) => [r.path, r.key, fmt(r.old), fmt(r.new), fmt(r.change)])));
      }
      // On stderr with --json too: a CI log shows why the job failed.
      for (const failure of failed) process.stderr.write(`kd-pipeline: error: metrics diff: ${describeFailure(failure)}\n`);
      if (gates.length > 0) {
        process.stderr.write(
          failed.length > 0
            ? `kd-pipeline: error: metrics diff: ${failed.length} of ${gates.length} --fail-on checks failed against ${baseline.label}\n`
            : `kd-pipeline: metrics diff: ${gates.length} --fail-on check${gates.length === 1 ? '' : 's'} passed against ${baseline.label}\n`,
        );
      }
    });
}
