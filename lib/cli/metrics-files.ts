import { readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { KdError } from '../errors.js';
import { parseLock, type Lock } from '../pipeline/lock.js';
import type { MetricsByFile } from '../pipeline/metrics-values.js';
export { workspaceMetrics } from '../pipeline/metrics-values.js';
import { LOCK_FILE } from '../pipeline/project.js';

function lockMetrics(lock: Lock): MetricsByFile {
  const metrics: MetricsByFile = {};
  for (const entry of Object.values(lock.stages)) Object.assign(metrics, entry.metrics ?? {});
  return metrics;
}

/**
 * The metrics recorded in a baseline lock: `pipeline.lock` at a git revision (default HEAD, the
 * last committed lock), or another lock file given with --lock.
 */
export async function baselineMetrics(root: string, source: { rev: string; lockFile?: string }): Promise<{ label: string; metrics: MetricsByFile }> {
  if (source.lockFile) {
    const file = path.resolve(source.lockFile);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      throw new KdError(`metrics diff: --lock ${source.lockFile}: file not found`);
    }
    return { label: source.lockFile, metrics: lockMetrics(parseLock(text, source.lockFile)) };
  }
  const shown = await execa('git', ['show', `${source.rev}:./${LOCK_FILE}`], { cwd: root, reject: false });
  if (shown.exitCode !== 0) {
    throw new KdError(
      `metrics diff: no ${LOCK_FILE} committed at ${source.rev} (${shown.stderr.split('\n')[0] || 'not a git repository'}); commit the lock after a run, or compare with --lock <file>`,
    );
  }
  return { label: source.rev, metrics: lockMetrics(parseLock(shown.stdout, `${source.rev}:${LOCK_FILE}`)) };
}
