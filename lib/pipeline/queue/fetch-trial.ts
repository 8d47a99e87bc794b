import path from 'node:path';
import { KdError } from '../../errors.js';
import { ContentCache } from '../cache.js';
import { readLock } from '../lock.js';
import { projectPaths } from '../project.js';
import { hashedOuts, RemoteObjects } from '../remote/objects.js';
import { DEFAULT_JOBS, openRemote } from '../remote/open.js';
import { findProjectRoot } from '../spec.js';
import { findTrial, readSweep } from '../experiments/store.js';

/**
 * Before `exp apply` of a queued trial: its outputs, which the worker pushed, downloaded from the
 * default remote into the local cache (each verified), so applying checks them out as usual.
 */
export async function fetchTrialOutputs(cwd: string, id: string): Promise<void> {
  const command = 'exp apply';
  const paths = projectPaths(findProjectRoot(cwd));
  const { record, dir } = findTrial(paths, id, command);
  if (!readSweep(paths, record.sweep)?.queue || record.status !== 'ok') return;
  const lock = readLock(path.join(dir, 'pipeline.lock'));
  const { store } = await openRemote(paths.root, undefined, DEFAULT_JOBS);
  const objects = new RemoteObjects(ContentCache.of(paths), store, { jobs: DEFAULT_JOBS });
  const fetched = await objects.fetchOuts(Object.entries(lock.stages).flatMap(([stage, entry]) => hashedOuts(entry, stage)));
  const failure = fetched.failed[0];
  if (failure) throw new KdError(`${command}: ${id}: fetching its outputs from ${store.url} failed: ${failure.error}; nothing was applied`);
}
