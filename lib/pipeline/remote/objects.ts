import { stat } from 'node:fs/promises';
import type { ContentCache } from '../cache.js';
import { isDirHash } from '../hashing.js';
import { lockedStageSchema, type LockedStage } from '../lock.js';
import { readJson } from './remote-refs.js';
import { addResults, emptyResult, transfer, type TransferItem, type TransferResult } from './transfer.js';
import type { TransferProgress } from './transfer-progress.js';
import { objectKey, ObjectMissingError, runKey, type ObjectStore } from './store.js';

/** An out as the lock records it: its hash and size. */
export interface OutRef {
  hash: string;
  size: number;
}

export function hashedOuts(entry: LockedStage): OutRef[] {
  return entry.outs.flatMap((out) => ('hash' in out ? [{ hash: out.hash, size: out.size }] : []));
}

function distinct(outs: OutRef[]): OutRef[] {
  return [...new Map(outs.map((out) => [out.hash, out])).values()];
}

/**
 * Moves outs and run-cache entries between the local cache (`.kd/`) and a remote, in an order
 * that keeps every store consistent: a directory's files before its manifest, and a run-cache
 * entry only once all of its objects are there.
 */
export class RemoteObjects {
  constructor(
    private readonly local: ContentCache,
    readonly remote: ObjectStore,
    private readonly options: { jobs: number; progress?: TransferProgress },
  ) {}

  get jobs(): number {
    return this.options.jobs;
  }

  private move(from: ObjectStore, to: ObjectStore, items: TransferItem[], verify: boolean): Promise<TransferResult> {
    return transfer(from, to, items, { jobs: this.options.jobs, verify, ...(this.options.progress ? { progress: this.options.progress } : {}) });
  }

  /** Downloads what the local cache lacks of `outs`: manifests first (they name the files), each verified. */
  async fetchOuts(all: OutRef[]): Promise<TransferResult> {
    const outs = distinct(all);
    const dirs = outs.filter((out) => isDirHash(out.hash));
    const result = await this.move(this.remote, this.local.store, dirs.map((out) => ({ key: objectKey(out.hash), size: 0 })), true);
    const files: TransferItem[] = outs.filter((out) => !isDirHash(out.hash)).map((out) => ({ key: objectKey(out.hash), size: out.size }));
    for (const dir of dirs) {
      for (const entry of (await this.local.readManifest(dir.hash)) ?? []) files.push({ key: objectKey(entry.hash), size: entry.size });
    }
    return addResults(result, await this.move(this.remote, this.local.store, files, true));
  }

  /** Uploads what the remote lacks of `outs`; a manifest only once all of its files are there. */
  async sendOuts(all: OutRef[]): Promise<TransferResult> {
    const outs = distinct(all);
    const files: TransferItem[] = outs.filter((out) => !isDirHash(out.hash)).map((out) => ({ key: objectKey(out.hash), size: out.size }));
    const manifests = new Map<string, string[]>();
    const result = emptyResult();
    for (const dir of outs.filter((out) => isDirHash(out.hash))) {
      const manifest = await this.local.readManifest(dir.hash);
      if (!manifest) {
        result.failed.push({ key: objectKey(dir.hash), reason: 'missing', error: new ObjectMissingError(objectKey(dir.hash), 'the local cache').message });
        continue;
      }
      const keys = manifest.map((entry) => objectKey(entry.hash));
      manifests.set(dir.hash, keys);
      manifest.forEach((entry) => files.push({ key: objectKey(entry.hash), size: entry.size }));
    }
    addResults(result, await this.move(this.local.store, this.remote, files, false));
    const there = new Set([...result.moved, ...result.skipped]);
    const complete: string[] = [];
    for (const [hash, keys] of manifests) {
      const lacking = keys.filter((key) => !there.has(key)).length;
      if (lacking === 0) complete.push(hash);
      else result.failed.push({ key: objectKey(hash), reason: 'missing', error: `${objectKey(hash)} not pushed: ${lacking} of its ${keys.length} files could not be` });
    }
    const items = await Promise.all(complete.map(async (hash) => ({ key: objectKey(hash), size: (await stat(this.local.objectPath(hash))).size })));
    return addResults(result, await this.move(this.local.store, this.remote, items, false));
  }

  /** A run-cache entry on the remote, validated, or undefined if it has none (or an invalid one). */
  async remoteRun(fingerprint: string): Promise<LockedStage | undefined> {
    try {
      const parsed = lockedStageSchema.safeParse(await readJson(this.remote, runKey(fingerprint)));
      return parsed.success ? parsed.data : undefined;
    } catch (error) {
      if (error instanceof ObjectMissingError || error instanceof SyntaxError) return undefined;
      throw error;
    }
  }

  /** Copies run-cache entries (whose objects are all at the destination by now) in the given direction. */
  async moveRuns(direction: 'push' | 'pull', fingerprints: string[]): Promise<TransferResult> {
    if (direction === 'pull') return this.move(this.remote, this.local.store, fingerprints.map((fingerprint) => ({ key: runKey(fingerprint), size: 0 })), false);
    const items = await Promise.all(fingerprints.map(async (fingerprint) => ({ key: runKey(fingerprint), size: (await stat(this.local.store.pathOf(runKey(fingerprint)))).size })));
    return this.move(this.local.store, this.remote, items, false);
  }
}
