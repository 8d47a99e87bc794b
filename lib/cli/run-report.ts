import type { RunReport } from '../pipeline/engine.js';
import { formatSeconds } from '../pipeline/progress.js';

/** Prints the end of a run (summary on stderr; the --json contract on stdout) and returns the exit code. */
export function printRunReport(report: RunReport, json: boolean): number {
  const count = (result: string) => report.stages.filter((s) => s.result === result).length;
  const summary = [`${count('ran')} ran`, `${count('restored')} restored`, `${count('skipped')} up to date`, `${count('failed')} failed`, `${count('not-run')} not run`];
  process.stderr.write(`kd-pipeline: run ${report.runId}: ${summary.join(', ')} in ${formatSeconds(report.seconds)}\n`);
  for (const failed of report.failed) process.stderr.write(`kd-pipeline: error: stage '${failed.name}' failed: ${failed.error ?? ''}\n`);
  if (json) {
    const stages = report.stages.map((s) => ({ name: s.name, result: s.result, seconds: Math.round(s.seconds * 1000) / 1000 }));
    process.stdout.write(`${JSON.stringify({ runId: report.runId, stages })}\n`);
  }
  // The shell convention: 128 + signal number (130 for Ctrl-C, 143 for SIGTERM).
  if (report.interrupted) return report.signal === 'SIGTERM' ? 143 : 130;
  return report.failed.length > 0 ? 1 : 0;
}
