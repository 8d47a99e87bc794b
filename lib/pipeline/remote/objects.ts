import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { ContentCache } from '../cache.js';
import { isDirHash } from '../hashing.js';
import { lockedStageSchema, type LockedStage } from '../lock.js';
import { readJson } from './remote-refs.js';
import { RemoteSuspects } from './suspects.js';
import { addResults, emptyResult, transfer, type FailedObject, type TransferItem, type TransferOptions, type TransferResult } from './transfer.js';
import type { TransferProgress } from './transfer-progress.js';
import { CorruptObjectError, hashOfKey, objectKey, ObjectMissingError, runKey, type ObjectStore } from './store.js';

/** An out as the lock records it: its hash and size, and (for messages) the stage and path it is. */
export interface OutRef {
  hash: string;
  size: number;
  owner?: string;
}

/** `stage` names the stage in messages about the entry's objects (`stage train: model.txt`). */
export function hashedOuts(entry: LockedStage, stage?: string): OutRef[] {
  return entry.outs.flatMap((out) => ('hash' in out ? [{ hash: out.hash, size: out.size, ...(stage ? { owner: `stage ${stage}: ${out.path}` } : {}) }] : []));
}

/** Which stage and path each object key stands for, a directory's files by their own path. */
class Owners extends Map<string, string> {
  note(key: string, owner: string | undefined, file?: string): void {
    if (owner && !this.has(key)) this.set(key, file ? `${owner}/${file}` : owner);
  }

  /** The failure's message naming the stage and path, where known. */
  name(failure: FailedObject): FailedObject {
    const owner = this.get(failure.key);
    return owner ? { ...failure, error: `${failure.error} (${owner})` } : failure;
  }
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

  private move(from: ObjectStore, to: ObjectStore, items: TransferItem[], options: Pick<TransferOptions, 'verify' | 'check' | 'overwrite'>): Promise<TransferResult> {
    return transfer(from, to, items, { jobs: this.options.jobs, ...options, ...(this.options.progress ? { progress: this.options.progress } : {}) });
  }

  /** Remote objects found corrupt: remembered, so that the next push replaces them. */
  get suspects(): RemoteSuspects {
    return new RemoteSuspects(this.local.store.root, this.remote.url);
  }

  /**
   * Downloads what the local cache lacks of `outs`: manifests first (they name the files), each
   * verified on the way in, so each is remembered as verified; a corrupt one is never stored, its
   * failure names its stage and path, and it is noted for the next push to replace.
   */
  async fetchOuts(all: OutRef[]): Promise<TransferResult> {
    const outs = distinct(all);
    const owners = new Owners();
    outs.forEach((out) => owners.note(objectKey(out.hash), out.owner));
    const dirs = outs.filter((out) => isDirHash(out.hash));
    const result = await this.move(this.remote, this.local.store, dirs.map((out) => ({ key: objectKey(out.hash), size: 0 })), { verify: true });
    const files: TransferItem[] = outs.filter((out) => !isDirHash(out.hash)).map((out) => ({ key: objectKey(out.hash), size: out.size }));
    for (const dir of dirs) {
      for (const entry of (await this.local.readManifest(dir.hash)) ?? []) {
        files.push({ key: objectKey(entry.hash), size: entry.size });
        owners.note(objectKey(entry.hash), dir.owner, entry.path);
      }
    }
    addResults(result, await this.move(this.remote, this.local.store, files, { verify: true }));
    for (const key of result.moved) await this.local.verified.remember(this.local.objectPath(hashOfKey(key)), hashOfKey(key));
    this.local.verified.save();
    this.suspects.update(result.failed.filter((f) => f.reason === 'corrupt').map((f) => f.key));
    result.failed = result.failed.map((f) => owners.name(f));
    return result;
  }

  /**
   * An object about to be uploaded: its local bytes must match its name (cheap when verified
   * before). A corrupt one is quarantined and reported; the remote never gets it.
   */
  private async checkLocal(key: string): Promise<FailedObject | null> {
    const hash = hashOfKey(key);
    if (!existsSync(this.local.objectPath(hash))) return null;
    const actual = await this.local.checkObject(hash);
    if (actual === null) return null;
    const moved = await this.local.quarantine(hash);
    return { key, reason: 'corrupt', error: `${new CorruptObjectError(key, actual, 'the local cache').message}; moved to ${moved}, not pushed` };
  }

  /**
   * Uploads what the remote lacks of `outs` (and what it holds corrupt), each checked first; a
   * manifest only once all of its files are there.
   */
  async sendOuts(all: OutRef[]): Promise<TransferResult> {
    const outs = distinct(all);
    const owners = new Owners();
    outs.forEach((out) => owners.note(objectKey(out.hash), out.owner));
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
      manifest.forEach((entry) => {
        files.push({ key: objectKey(entry.hash), size: entry.size });
        owners.note(objectKey(entry.hash), dir.owner, entry.path);
      });
    }
    const suspects = this.suspects;
    const upload = { verify: false, overwrite: suspects.keys(), check: (key: string) => this.checkLocal(key) };
    addResults(result, await this.move(this.local.store, this.remote, files, upload));
    const there = new Set([...result.moved, ...result.skipped]);
    const complete: string[] = [];
    for (const [hash, keys] of manifests) {
      const lacking = keys.filter((key) => !there.has(key)).length;
      if (lacking === 0) complete.push(hash);
      else result.failed.push({ key: objectKey(hash), reason: 'missing', error: `${objectKey(hash)} not pushed: ${lacking} of its ${keys.length} files could not be` });
    }
    const items = await Promise.all(complete.map(async (hash) => ({ key: objectKey(hash), size: (await stat(this.local.objectPath(hash))).size })));
    addResults(result, await this.move(this.local.store, this.remote, items, upload));
    this.local.verified.save();
    suspects.update([], result.moved);
    result.failed = result.failed.map((f) => owners.name(f));
    return result;
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
    if (direction === 'pull') return this.move(this.remote, this.local.store, fingerprints.map((fingerprint) => ({ key: runKey(fingerprint), size: 0 })), { verify: false });
    const items = await Promise.all(fingerprints.map(async (fingerprint) => ({ key: runKey(fingerprint), size: (await stat(this.local.store.pathOf(runKey(fingerprint)))).size })));
    return this.move(this.local.store, this.remote, items, { verify: false });
  }
}
