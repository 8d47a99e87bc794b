import { ContentCache } from '../cache.js';
import type { GcReport } from '../gc.js';
import { lockedStageSchema } from '../lock.js';
import { projectPaths } from '../project.js';
import { readLock } from '../lock.js';
import { findProjectRoot } from '../spec.js';
import { mapLimit } from './concurrency.js';
import { DirectoryStore } from './directory-store.js';
import { openRemote } from './open.js';
import { objectKeysOf, readJson } from './remote-refs.js';
import { withRetries } from './retry.js';
import { objectKey, ObjectMissingError, OBJECTS_PREFIX, RUNS_PREFIX } from './store.js';

/** Temp files of a directory remote older than this were left by an interrupted push. */
const STALE_TEMP_MS = 24 * 3600 * 1000;

/**
 * `gc --remote`: the remote's objects that the workspace's pipeline.lock does not reference, and
 * the remote run-cache entries that need them. Only counts unless `force`. Entries go before the
 * objects they name, so an interrupted gc never leaves an entry pointing at deleted objects.
 * Objects that only another branch's lock references are deleted too: push from there again.
 */
export async function collectRemoteGarbage(cwd: string, name: string | undefined, force: boolean, jobs: number): Promise<GcReport> {
  const root = findProjectRoot(cwd);
  const paths = projectPaths(root);
  const lock = readLock(paths.lockFile);
  const cache = ContentCache.of(paths);
  const { store } = await openRemote(root, name, jobs);
  const keep = new Set<string>();
  for (const entry of Object.values(lock.stages)) {
    for (const out of entry.outs) if ('hash' in out) for (const key of (await objectKeysOf(out.hash, cache, store)) ?? []) keep.add(key);
  }
  const objects = await withRetries(() => store.list(OBJECTS_PREFIX));
  const doomed = [...objects.keys()].filter((key) => !keep.has(key));
  const doomedSet = new Set(doomed);
  const runKeys = [...(await withRetries(() => store.list(RUNS_PREFIX))).keys()];
  const entries = await mapLimit(runKeys, jobs, async (key) => {
    try {
      const parsed = lockedStageSchema.safeParse(await withRetries(() => readJson(store, key)));
      return parsed.success ? parsed.data : null;
    } catch (error) {
      if (error instanceof ObjectMissingError || error instanceof SyntaxError) return null;
      throw error;
    }
  });
  const doomedRuns = runKeys.filter((_, i) => {
    const entry = entries[i];
    if (!entry) return true;
    return entry.outs.some((out) => 'hash' in out && (doomedSet.has(objectKey(out.hash)) || !objects.has(objectKey(out.hash))));
  });
  if (force) {
    await withRetries(() => store.remove(doomedRuns));
    await withRetries(() => store.remove(doomed));
    if (store instanceof DirectoryStore) await store.removeStaleTemps(STALE_TEMP_MS);
  }
  return {
    removedObjects: doomed.length,
    removedBytes: doomed.reduce((sum, key) => sum + (objects.get(key) ?? 0), 0),
    keptObjects: objects.size - doomed.length,
    removedRuns: doomedRuns.length,
    dryRun: !force,
  };
}
