import type { ContentCache } from '../cache.js';
import { isDirHash, type ManifestEntry } from '../hashing.js';
import { withRetries } from './retry.js';
import { objectKey, ObjectMissingError, type ObjectStore } from './store.js';

/** A small JSON object (a manifest, a run-cache entry) read from a store. */
export async function readJson(store: ObjectStore, key: string): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of (await store.get(key)) as AsyncIterable<Buffer>) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/**
 * The object keys an out's hash stands for (a directory's manifest and its files), its manifest
 * read from the local cache or else from the remote; null when neither has the manifest.
 */
export async function objectKeysOf(hash: string, cache: ContentCache, remote: ObjectStore): Promise<string[] | null> {
  if (!isDirHash(hash)) return [objectKey(hash)];
  let manifest = await cache.readManifest(hash);
  if (!manifest) {
    try {
      manifest = (await withRetries(() => readJson(remote, objectKey(hash)))) as ManifestEntry[];
    } catch (error) {
      if (error instanceof ObjectMissingError || error instanceof SyntaxError) return null;
      throw error;
    }
  }
  return [objectKey(hash), ...manifest.map((entry) => objectKey(entry.hash))];
}
