import { constants, existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { readTextIfExistsAsync } from '../read-file.js';
import { isDirHash, type ManifestEntry, type PathHash } from './hashing.js';
import { CorruptManifestError, parseManifest } from './manifest.js';
import type { ProjectPaths } from './project.js';
import { DirectoryStore } from './remote/directory-store.js';
import { hashOfKey, objectKey, OBJECTS_PREFIX } from './remote/store.js';

/**
 * The content-addressed store of outputs in `.kd/cache`: `<2 hex>/<rest>` per file, plus a
 * `<hash>.dir` manifest per directory. Objects are written to a temp name and renamed, so an
 * interrupted save never leaves a partial entry; they are read-only and checked out as copies
 * (a reflink where the filesystem supports it, e.g. btrfs/XFS/APFS), so editing an output never
 * touches the cache.
 */
export class ContentCache {
  constructor(readonly store: DirectoryStore) {}

  /** The cache of the project whose engine paths are `paths` (`.kd/cache`, temp files in `.kd/tmp`). */
  static of(paths: ProjectPaths): ContentCache {
    return new ContentCache(new DirectoryStore(paths.kdDir, paths.tmp));
  }

  objectPath(hash: string): string {
    return this.store.pathOf(objectKey(hash));
  }

  /** Stores an out (file or directory) whose hash was just computed. Files go in before the manifest. */
  async save(absPath: string, out: PathHash): Promise<void> {
    if (!out.manifest) return this.store.putFile(objectKey(out.hash), absPath);
    for (const entry of out.manifest) await this.store.putFile(objectKey(entry.hash), path.join(absPath, entry.path));
    if (existsSync(this.objectPath(out.hash))) return;
    const text = Buffer.from(JSON.stringify(out.manifest));
    await this.store.put(objectKey(out.hash), async () => text, text.length);
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

  private async copyOut(hash: string, target: string, isexec: boolean): Promise<void> {
    await mkdir(path.dirname(target), { recursive: true });
    await copyFile(this.objectPath(hash), target, constants.COPYFILE_FICLONE);
    await chmod(target, isexec ? 0o755 : 0o644);
  }

  /** Replaces whatever is at `absPath` with the cached content of `hash` (`isexec`: for a file out). */
  async checkout(absPath: string, hash: string, isexec = false): Promise<void> {
    await rm(absPath, { recursive: true, force: true });
    if (!isDirHash(hash)) return this.copyOut(hash, absPath, isexec);
    const manifest = await this.readManifest(hash);
    if (!manifest) throw new Error(`cache entry ${hash} is missing`);
    await mkdir(absPath, { recursive: true });
    for (const entry of manifest) await this.copyOut(entry.hash, path.join(absPath, entry.path), entry.isexec === true);
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
