import { KdError } from '../errors.js';
import { ContentCache } from './cache.js';
import { refuseWhileRunning } from './experiments/store.js';
import { gcReport, lockedOuts, locksToKeep, planOrExplain, type GcReport, type GcScope } from './gc-plan.js';
import { CorruptManifestError } from './manifest.js';
import { projectPaths, type ProjectPaths } from './project.js';
import { RunCache } from './run-cache.js';
import { acquireRunLock } from './run-lock.js';
import { findProjectRoot } from './spec.js';

export type { GcReport } from './gc-plan.js';

/**
 * Removes cache objects that neither pipeline.lock nor an experiment trial's lock (nor, with
 * allCommits, a lock in git history) references, and the run-cache entries that needed them (they
 * could no longer be restored). With dryRun, only reports. Deleting takes the run lock: a run in
 * progress saves a stage's objects before its lock entry names them. Everything is read before
 * anything is deleted, and any read that fails (other than a file being absent) stops gc.
 */
export async function collectGarbage(cwd: string, dryRun: boolean, wait = false, allCommits = false): Promise<GcReport> {
  const paths = projectPaths(findProjectRoot(cwd));
  const release = dryRun ? () => undefined : await acquireRunLock(paths.runLock, { wait });
  try {
    if (!dryRun) refuseWhileRunning(paths, 'gc');
    const plan = await planOrExplain('gc', () => planSweep(paths, { trials: true, allCommits }, dryRun));
    if (!dryRun) {
      const runCache = new RunCache(paths.runs);
      for (const fingerprint of plan.removedRunEntries) runCache.remove(fingerprint);
      const cache = ContentCache.of(paths);
      for (const { hash } of plan.removed) await cache.remove(hash);
    }
    return plan;
  } finally {
    release();
  }
}

async function planSweep(paths: ProjectPaths, scope: GcScope, dryRun: boolean): Promise<GcReport> {
  const cache = ContentCache.of(paths);
  const keep = new Map<string, string>();
  for (const out of lockedOuts(locksToKeep(paths, scope))) {
    let hashes: string[];
    try {
      hashes = await cache.referencedBy(out.hash);
    } catch (error) {
      if (error instanceof CorruptManifestError) throw new KdError(`${error.message}, named by ${out.by}: gc cannot tell which files it keeps; delete that file and run the stage again (run -f)`);
      throw error;
    }
    for (const hash of hashes) if (!keep.has(hash)) keep.set(hash, out.by);
  }
  const objects = await cache.listObjects();
  const removedRunEntries: string[] = [];
  for (const [fingerprint, entry] of new RunCache(paths.runs).entries()) {
    const needs = entry.outs.flatMap((out) => ('hash' in out ? [out.hash] : []));
    if (needs.some((hash) => !keep.has(hash) || !objects.has(hash))) removedRunEntries.push(fingerprint);
  }
  return gcReport(objects, keep, removedRunEntries, dryRun);
}
