import { constants, existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isDirHash, type ManifestEntry, type PathHash } from './hashing.js';

/**
 * The content-addressed store of outputs in `.kd/cache`: `<2 hex>/<rest>` per file, plus a
 * `<hash>.dir` manifest per directory. Objects are written to a temp name and renamed, so an
 * interrupted save never leaves a partial entry; they are read-only and checked out as copies
 * (a reflink where the filesystem supports it, e.g. btrfs/XFS/APFS), so editing an output never
 * touches the cache.
 */
export class ContentCache {
  constructor(
    private readonly dir: string,
    private readonly tmpDir: string,
  ) {}

  objectPath(hash: string): string {
    return path.join(this.dir, hash.slice(0, 2), hash.slice(2));
  }

  private async putFile(source: string, hash: string): Promise<void> {
    const target = this.objectPath(hash);
    if (existsSync(target)) return;
    await mkdir(path.dirname(target), { recursive: true });
    await mkdir(this.tmpDir, { recursive: true });
    const tmp = path.join(this.tmpDir, `${hash}.${process.pid}.${Math.random().toString(36).slice(2)}`);
    await copyFile(source, tmp, constants.COPYFILE_FICLONE);
    await chmod(tmp, 0o444);
    await rename(tmp, target);
  }

  private async putManifest(hash: string, manifest: ManifestEntry[]): Promise<void> {
    const target = this.objectPath(hash);
    if (existsSync(target)) return;
    await mkdir(path.dirname(target), { recursive: true });
    await mkdir(this.tmpDir, { recursive: true });
    const tmp = path.join(this.tmpDir, `${hash}.${process.pid}.${Math.random().toString(36).slice(2)}`);
    await writeFile(tmp, JSON.stringify(manifest));
    await rename(tmp, target);
  }

  /** Stores an out (file or directory) whose hash was just computed. Files go in before the manifest. */
  async save(absPath: string, out: PathHash): Promise<void> {
    if (!out.manifest) return this.putFile(absPath, out.hash);
    for (const entry of out.manifest) await this.putFile(path.join(absPath, entry.path), entry.hash);
    await this.putManifest(out.hash, out.manifest);
  }

  async readManifest(hash: string): Promise<ManifestEntry[] | null> {
    try {
      return JSON.parse(await readFile(this.objectPath(hash), 'utf8')) as ManifestEntry[];
    } catch {
      return null;
    }
  }

  /** Whether every object needed to check `hash` out is present. */
  async has(hash: string): Promise<boolean> {
    if (!isDirHash(hash)) return existsSync(this.objectPath(hash));
    const manifest = await this.readManifest(hash);
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
    const prefixes = await readdir(this.dir).catch(() => [] as string[]);
    for (const prefix of prefixes) {
      for (const rest of await readdir(path.join(this.dir, prefix))) {
        objects.set(prefix + rest, (await stat(path.join(this.dir, prefix, rest))).size);
      }
    }
    return objects;
  }

  /** The object hashes an out's hash keeps alive (a directory's manifest and its files). */
  async referencedBy(hash: string): Promise<string[]> {
    if (!isDirHash(hash)) return [hash];
    const manifest = (await this.readManifest(hash)) ?? [];
    return [hash, ...manifest.map((entry) => entry.hash)];
  }

  async remove(hash: string): Promise<void> {
    await rm(this.objectPath(hash), { force: true });
  }
}
