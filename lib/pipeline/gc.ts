import { ContentCache } from './cache.js';
import { refuseWhileRunning, trialLocks } from './experiments/store.js';
import { readLock } from './lock.js';
import { projectPaths, type ProjectPaths } from './project.js';
import { RunCache } from './run-cache.js';
import { acquireRunLock } from './run-lock.js';
import { findProjectRoot } from './spec.js';

export interface GcReport {
  removedObjects: number;
  removedBytes: number;
  keptObjects: number;
  removedRuns: number;
  dryRun: boolean;
}

/**
 * Removes cache objects that neither pipeline.lock nor an experiment trial's lock references, and the run-cache entries that
 * needed them (they could no longer be restored). With dryRun, only counts. Deleting takes the run
 * lock: a run in progress saves a stage's objects before its lock entry names them.
 */
export async function collectGarbage(cwd: string, dryRun: boolean, wait = false): Promise<GcReport> {
  const paths = projectPaths(findProjectRoot(cwd));
  const release = dryRun ? () => undefined : await acquireRunLock(paths.runLock, { wait });
  try {
    if (!dryRun) refuseWhileRunning(paths, 'gc');
    return await sweep(paths, dryRun);
  } finally {
    release();
  }
}

async function sweep(paths: ProjectPaths, dryRun: boolean): Promise<GcReport> {
  const cache = ContentCache.of(paths);
  const keep = new Set<string>();
  for (const entry of [readLock(paths.lockFile), ...trialLocks(paths)].flatMap((lock) => Object.values(lock.stages))) {
    for (const out of entry.outs) if ('hash' in out) for (const hash of await cache.referencedBy(out.hash)) keep.add(hash);
  }
  const objects = await cache.listObjects();
  const doomed = [...objects.keys()].filter((hash) => !keep.has(hash));
  const doomedSet = new Set(doomed);
  const runCache = new RunCache(paths.runs);
  let removedRuns = 0;
  for (const [fingerprint, entry] of runCache.entries()) {
    const needs = entry.outs.flatMap((out) => ('hash' in out ? [out.hash] : []));
    if (needs.some((hash) => doomedSet.has(hash) || !objects.has(hash))) {
      removedRuns += 1;
      if (!dryRun) runCache.remove(fingerprint);
    }
  }
  if (!dryRun) for (const hash of doomed) await cache.remove(hash);
  return {
    removedObjects: doomed.length,
    removedBytes: doomed.reduce((sum, hash) => sum + (objects.get(hash) ?? 0), 0),
    keptObjects: objects.size - doomed.length,
    removedRuns,
    dryRun,
  };
}
