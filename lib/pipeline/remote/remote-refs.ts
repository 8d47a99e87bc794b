import type { ContentCache } from '../cache.js';
import { isDirHash, type ManifestEntry } from '../hashing.js';
import { parseManifest } from '../manifest.js';
import { withRetries } from './retry.js';
import { objectKey, ObjectMissingError, type ObjectStore } from './store.js';

/** A small text object (a manifest, a run-cache entry) read from a store. */
async function readText(store: ObjectStore, key: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of (await store.get(key)) as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** A small JSON object (a run-cache entry) read from a store. */
export async function readJson(store: ObjectStore, key: string): Promise<unknown> {
  return JSON.parse(await readText(store, key));
}

/**
 * The object keys an out's hash stands for (a directory's manifest and its files), its manifest
 * read from the local cache or else from the remote; null when neither has the manifest. A corrupt
 * manifest (local or remote) throws: callers such as gc must not guess which files it names.
 */
export async function objectKeysOf(hash: string, cache: ContentCache, remote: ObjectStore): Promise<string[] | null> {
  if (!isDirHash(hash)) return [objectKey(hash)];
  let manifest: ManifestEntry[] | null = await cache.readManifest(hash);
  if (!manifest) {
    const key = objectKey(hash);
    try {
      manifest = parseManifest(await withRetries(() => readText(remote, key)), `${key} in ${remote.url}`);
    } catch (error) {
      if (error instanceof ObjectMissingError) return null;
      throw error;
    }
  }
  return [objectKey(hash), ...manifest.map((entry) => objectKey(entry.hash))];
}
