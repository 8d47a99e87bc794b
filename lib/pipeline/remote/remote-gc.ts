import { ContentCache } from '../cache.js';
import { gcReport, lockedOuts, locksToKeep, planOrExplain, type GcReport } from '../gc-plan.js';
import { lockedStageSchema } from '../lock.js';
import { projectPaths } from '../project.js';
import { findProjectRoot } from '../spec.js';
import { mapLimit } from './concurrency.js';
import { DirectoryStore } from './directory-store.js';
import { openRemote } from './open.js';
import { objectKeysOf, readJson } from './remote-refs.js';
import { withRetries } from './retry.js';
import { fingerprintOfKey, hashOfKey, objectKey, ObjectMissingError, OBJECTS_PREFIX, runKey, RUNS_PREFIX } from './store.js';

/** Temp files of a directory remote older than this were left by an interrupted push. */
const STALE_TEMP_MS = 24 * 3600 * 1000;

export interface RemoteGcOptions {
  force: boolean;
  jobs: number;
  /** Also keep what every pipeline.lock committed in git names. */
  allCommits: boolean;
}

/**
 * `gc --remote`: the remote's objects that the workspace's pipeline.lock (and, with allCommits,
 * every committed version of it) does not reference, and the remote run-cache entries that need
 * them. Only reports unless `force`. Entries go before the objects they name, so an interrupted gc
 * never leaves an entry pointing at deleted objects. Without allCommits, objects that only another
 * branch's lock references are deleted too: push from there again.
 */
export async function collectRemoteGarbage(cwd: string, name: string | undefined, options: RemoteGcOptions): Promise<GcReport> {
  const root = findProjectRoot(cwd);
  const paths = projectPaths(root);
  const cache = ContentCache.of(paths);
  const { store } = await openRemote(root, name, options.jobs);
  const plan = await planOrExplain('gc --remote', async () => {
    const keep = new Map<string, string>();
    for (const out of lockedOuts(locksToKeep(paths, { trials: false, allCommits: options.allCommits }))) {
      for (const key of (await objectKeysOf(out.hash, cache, store)) ?? []) if (!keep.has(hashOfKey(key))) keep.set(hashOfKey(key), out.by);
    }
    const objects = new Map([...(await withRetries(() => store.list(OBJECTS_PREFIX)))].map(([key, size]) => [hashOfKey(key), size]));
    const runKeys = [...(await withRetries(() => store.list(RUNS_PREFIX))).keys()];
    const entries = await mapLimit(runKeys, options.jobs, async (key) => {
      try {
        const parsed = lockedStageSchema.safeParse(await withRetries(() => readJson(store, key)));
        return parsed.success ? parsed.data : null;
      } catch (error) {
        if (error instanceof ObjectMissingError) return undefined; // deleted since the listing
        if (error instanceof SyntaxError) return null;
        throw error;
      }
    });
    // An entry that needs a missing or removed object can restore nothing. One that does not parse is
    // kept, as the local gc does: it may come from a newer kd-pipeline, and deleting is not gc's call.
    const doomedRuns = runKeys.filter((_, i) => {
      const entry = entries[i];
      return entry ? entry.outs.some((out) => 'hash' in out && (!keep.has(out.hash) || !objects.has(out.hash))) : false;
    });
    return gcReport(objects, keep, doomedRuns.map(fingerprintOfKey), !options.force);
  });
  if (options.force) {
    await withRetries(() => store.remove(plan.removedRunEntries.map(runKey)));
    await withRetries(() => store.remove(plan.removed.map((item) => objectKey(item.hash))));
    if (store instanceof DirectoryStore) await store.removeStaleTemps(STALE_TEMP_MS);
  }
  return plan;
}
