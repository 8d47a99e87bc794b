import { availableParallelism } from 'node:os';
import { resolveRemote, type Remote } from './config.js';
import { DirectoryStore } from './directory-store.js';
import { withRetries } from './retry.js';
import type { ObjectStore } from './store.js';

/** Objects in flight at once by default: transfers wait on the network far more than on the CPU. */
export const DEFAULT_JOBS = Math.max(8, 4 * availableParallelism());

export interface OpenRemote {
  remote: Remote;
  store: ObjectStore;
}

/**
 * The remote named `name` (or the default one), checked to be usable (credentials, bucket,
 * network) before anything moves, so a bad remote fails at once with a clear error.
 */
export async function openRemote(root: string, name: string | undefined, jobs: number): Promise<OpenRemote> {
  const remote = resolveRemote(root, name);
  const { location } = remote;
  const store: ObjectStore =
    location.kind === 's3'
      ? await (await import('./s3-store.js')).S3Store.open(location, { pathStyle: remote.pathStyle, jobs })
      : new DirectoryStore(location.path);
  await withRetries(() => store.check());
  return { remote, store };
}
