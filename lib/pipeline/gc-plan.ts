import { KdError } from '../errors.js';
import { readTextIfExists } from '../read-file.js';
import { trialLocks } from './experiments/store.js';
import { lockHistory } from './git-locks.js';
import { parseLock, type Lock } from './lock.js';
import { LOCK_FILE, relPath, type ProjectPaths } from './project.js';

/** What gc decided, the same for the local cache and a remote. */
export interface GcReport {
  removedObjects: number;
  removedBytes: number;
  keptObjects: number;
  removedRuns: number;
  dryRun: boolean;
  /** Every object kept, with the first lock entry that names it (`pipeline.lock: train → model.bin`). */
  kept: { hash: string; size: number; by: string }[];
  /** Every object removed (or, with dryRun, that would be). */
  removed: { hash: string; size: number }[];
  /** The fingerprints of the run-cache entries removed (they need a removed or missing object). */
  removedRunEntries: string[];
}

export interface GcScope {
  /** Also keep what experiment trials' locks name (the local cache: trials share it). */
  trials: boolean;
  /** Also keep what every pipeline.lock committed in git names (`--all-commits`). */
  allCommits: boolean;
}

/**
 * The locks whose outs gc keeps. The workspace's lock must be there and readable: gc keeps only
 * what a lock names, so without one it would delete everything.
 */
export function locksToKeep(paths: ProjectPaths, scope: GcScope): { source: string; lock: Lock }[] {
  const text = readTextIfExists(paths.lockFile, LOCK_FILE);
  if (text === null) {
    throw new KdError(`there is no ${LOCK_FILE} in ${paths.root}, and gc keeps only what a lock names; run \`kd-pipeline run\` (or restore ${LOCK_FILE} from git) first`);
  }
  const locks = [{ source: LOCK_FILE, lock: parseLock(text, LOCK_FILE, paths.root) }];
  if (scope.trials) locks.push(...trialLocks(paths).map((t) => ({ source: relPath(paths.root, t.file), lock: t.lock })));
  if (scope.allCommits) locks.push(...lockHistory(paths.root));
  return locks;
}

/** Every hashed out the locks name, with who names it. */
export function lockedOuts(locks: { source: string; lock: Lock }[]): { hash: string; by: string }[] {
  return locks.flatMap(({ source, lock }) =>
    Object.entries(lock.stages).flatMap(([stage, entry]) => entry.outs.flatMap((out) => ('hash' in out ? [{ hash: out.hash, by: `${source}: ${stage} → ${out.path}` }] : []))),
  );
}

/** The report for `objects` (hash → size), of which `keep` (hash → by) stay. */
export function gcReport(objects: Map<string, number>, keep: Map<string, string>, removedRunEntries: string[], dryRun: boolean): GcReport {
  const hashes = [...objects.keys()].sort();
  const removed = hashes.filter((hash) => !keep.has(hash)).map((hash) => ({ hash, size: objects.get(hash) ?? 0 }));
  const kept = hashes.filter((hash) => keep.has(hash)).map((hash) => ({ hash, size: objects.get(hash) ?? 0, by: keep.get(hash) as string }));
  return {
    removedObjects: removed.length,
    removedBytes: removed.reduce((sum, item) => sum + item.size, 0),
    keptObjects: kept.length,
    removedRuns: removedRunEntries.length,
    dryRun,
    kept,
    removed,
    removedRunEntries: [...removedRunEntries].sort(),
  };
}

/**
 * Runs gc's planning (every read) before anything is deleted; a failure there says so, so the
 * user knows the cache is as it was: `gc: .kd/cache/ab: cannot read (EIO: …); nothing was deleted`.
 */
export async function planOrExplain<T>(command: string, plan: () => Promise<T>): Promise<T> {
  try {
    return await plan();
  } catch (error) {
    if (error instanceof KdError) throw new KdError(`${command}: ${error.message}; nothing was deleted`, error.exitCode);
    throw error;
  }
}
