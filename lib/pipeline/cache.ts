import { constants, existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { readTextIfExistsAsync } from '../read-file.js';
import { isDirHash, statIfPresent, type ManifestEntry, type PathHash } from './hashing.js';
import { CorruptManifestError, parseManifest } from './manifest.js';
import type { ProjectPaths } from './project.js';
import { DirectoryStore } from './remote/directory-store.js';
import { hashOfKey, objectKey, OBJECTS_PREFIX } from './remote/store.js';
import { contentMd5, CorruptCacheObjectError, VerifiedObjects, verifyReads } from './verified-objects.js';

/**
 * The content-addressed store of outputs in `.kd/cache`: `<2 hex>/<rest>` per file, plus a
 * `<hash>.dir` manifest per directory. Objects are written to a temp name and renamed, so an
 * interrupted save never leaves a partial entry; they are read-only and checked out as copies
 * (a reflink where the filesystem supports it, e.g. btrfs/XFS/APFS), so editing an output never
 * touches the cache. Every object is checked against its hash on its way out (see checkout).
 */
export class ContentCache {
  readonly verified: VerifiedObjects;

  constructor(readonly store: DirectoryStore) {
    this.verified = new VerifiedObjects(store.pathOf(OBJECTS_PREFIX));
  }

  /** The cache of the project whose engine paths are `paths` (`.kd/cache`, temp files in `.kd/tmp`). */
  static of(paths: ProjectPaths): ContentCache {
    return new ContentCache(new DirectoryStore(paths.kdDir, paths.tmp));
  }

  objectPath(hash: string): string {
    return this.store.pathOf(objectKey(hash));
  }

  /** Stores an out (file or directory) whose hash was just computed. Files go in before the manifest. */
  async save(absPath: string, out: PathHash): Promise<void> {
    if (!out.manifest) await this.saveFile(out.hash, absPath);
    else for (const entry of out.manifest) await this.saveFile(entry.hash, path.join(absPath, entry.path));
    // Written even when one is there: a stage reruns over a corrupt manifest, which must not stay.
    if (out.manifest) {
      const text = Buffer.from(JSON.stringify(out.manifest));
      await this.store.put(objectKey(out.hash), async () => text, text.length);
      await this.verified.remember(this.objectPath(out.hash), out.hash);
    }
    this.verified.save();
  }

  /**
   * A copy of a workspace file whose hash was just computed. Only an object this call writes is
   * remembered as verified: one already there may be the corrupt copy a checkout will catch.
   */
  private async saveFile(hash: string, source: string): Promise<void> {
    if (existsSync(this.objectPath(hash))) return;
    await this.store.putFile(objectKey(hash), source);
    await this.verified.remember(this.objectPath(hash), hash);
  }

  /** A directory's manifest, or null when it is not in the cache; unreadable or corrupt is a CorruptManifestError. */
  async readManifest(hash: string): Promise<ManifestEntry[] | null> {
    const file = this.objectPath(hash);
    const text = await readTextIfExistsAsync(file);
    return text === null ? null : parseManifest(text, file);
  }

  /** Whether every object needed to check `hash` out is present (a corrupt manifest is not: the stage runs again). */
  async has(hash: string): Promise<boolean> {
    if (!isDirHash(hash)) return existsSync(this.objectPath(hash));
    const manifest = await this.readManifest(hash).catch((error: unknown) => {
      if (error instanceof CorruptManifestError) return null;
      throw error;
    });
    return manifest !== null && manifest.every((entry) => existsSync(this.objectPath(entry.hash)));
  }

  /**
   * Copies an object to `target`, hashing it on the way unless it was verified before and has not
   * changed since. Written in place rather than via temp + rename: the out was just removed, and a
   * copy cut short is a file no lock or state entry vouches for, so the next run re-hashes it.
   */
  private async copyOut(hash: string, target: string, isexec: boolean): Promise<void> {
    await mkdir(path.dirname(target), { recursive: true });
    const object = this.objectPath(hash);
    const copy = () => copyFile(object, target, constants.COPYFILE_FICLONE);
    const actual = verifyReads() ? await this.verified.copy(object, hash, target, copy) : (await copy(), null);
    if (actual !== null) throw await this.corrupt(hash, actual, target);
    await chmod(target, isexec ? 0o755 : 0o644);
  }

  /** Quarantines the object and removes what was copied of it (corrupt bytes never stay in the workspace). */
  private async corrupt(hash: string, actual: string, target: string): Promise<CorruptCacheObjectError> {
    await rm(target, { recursive: true, force: true });
    const moved = await this.verified.quarantine(this.objectPath(hash), hash);
    return new CorruptCacheObjectError(hash, actual, target, moved);
  }

  /**
   * The md5 the stored object `hash` really has when it does not match its name, else null.
   * Trusts the verified memo unless `full` (cache verify re-reads everything).
   */
  async checkObject(hash: string, full = false): Promise<string | null> {
    return this.verified.check(this.objectPath(hash), hash, full);
  }

  /** Moves object `hash` to `.kd/quarantine/`; answers where it went, relative to the project root. */
  async quarantine(hash: string): Promise<string> {
    const moved = await this.verified.quarantine(this.objectPath(hash), hash);
    return path.relative(path.dirname(this.store.root), moved).split(path.sep).join('/');
  }

  /** Hashes of the objects in the quarantine that the cache no longer holds. */
  async quarantined(): Promise<string[]> {
    return (await this.verified.quarantined()).filter((hash) => !existsSync(this.objectPath(hash)));
  }

  /** A directory's manifest for checkout: small, so always hashed. */
  private async checkedManifest(hash: string, target: string): Promise<ManifestEntry[]> {
    const bytes = await readFile(this.objectPath(hash)).catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'ENOENT' ? new Error(`cache entry ${hash} is missing`) : error;
    });
    const actual = createHash('md5').update(bytes).digest('hex');
    if (verifyReads() && actual !== contentMd5(hash)) throw await this.corrupt(hash, actual, target);
    return JSON.parse(bytes.toString('utf8')) as ManifestEntry[];
  }

  /**
   * Replaces whatever is at `absPath` with the cached content of `hash` (`isexec`: for a file out).
   * Throws CorruptCacheObjectError (after moving the object to `.kd/quarantine/`) when an object's
   * bytes do not match its hash; a path that cannot be stat'ed (EACCES, EIO) is never removed.
   */
  async checkout(absPath: string, hash: string, isexec = false): Promise<void> {
    if (await statIfPresent(absPath, true)) await rm(absPath, { recursive: true, force: true });
    try {
      if (!isDirHash(hash)) return await this.copyOut(hash, absPath, isexec);
      const manifest = await this.checkedManifest(hash, absPath);
      await mkdir(absPath, { recursive: true });
      for (const entry of manifest) await this.copyOut(entry.hash, path.join(absPath, entry.path), entry.isexec === true);
    } catch (error) {
      // Not half a directory either: what was checked out of it goes too.
      if (error instanceof CorruptCacheObjectError) await rm(absPath, { recursive: true, force: true });
      throw error;
    } finally {
      this.verified.save();
    }
  }

  /** Every object in the store: hash → size in bytes. */
  async listObjects(): Promise<Map<string, number>> {
    const objects = new Map<string, number>();
    for (const [key, size] of await this.store.list(OBJECTS_PREFIX)) objects.set(hashOfKey(key), size);
    return objects;
  }

  /**
   * The object hashes an out's hash keeps alive (a directory's manifest and its files). A corrupt
   * manifest throws: gc cannot know which files it names, so it must not delete any.
   */
  async referencedBy(hash: string): Promise<string[]> {
    if (!isDirHash(hash)) return [hash];
    const manifest = (await this.readManifest(hash)) ?? [];
    return [hash, ...manifest.map((entry) => entry.hash)];
  }

  async remove(hash: string): Promise<void> {
    await this.store.remove([objectKey(hash)]);
  }
}
