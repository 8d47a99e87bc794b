import { constants, createWriteStream, existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isAbsent, readdirIfExistsAsync, readFailure } from '../../read-file.js';
import { ObjectMissingError, OBJECTS_PREFIX, RemoteError, type ObjectStore } from './store.js';

const NO_SPACE = new Set(['ENOSPC', 'EDQUOT']);

/**
 * The object database in a directory: the project's own `.kd/` (cache/ and runs/ there are the
 * local cache and run-cache) or a directory remote on a shared disk or NFS. Every object is written
 * to a temp file in `tmpDir` (same file system) and renamed into place, so readers and concurrent
 * writers of the same key only ever see whole objects; objects under cache/ are read-only.
 */
export class DirectoryStore implements ObjectStore {
  constructor(
    readonly root: string,
    private readonly tmpDir = path.join(root, 'tmp'),
  ) {}

  get url(): string {
    return this.root;
  }

  pathOf(key: string): string {
    return path.join(this.root, ...key.split('/'));
  }

  async check(): Promise<void> {
    const info = await stat(this.root).catch((error: unknown) => {
      if (isAbsent(error)) return null;
      throw new RemoteError(readFailure(this.root, error).message);
    });
    if (!info?.isDirectory()) throw new RemoteError(`the directory ${this.root} does not exist (create it, or check the remote's URL)`);
  }

  async has(keys: string[]): Promise<Set<string>> {
    return new Set(keys.filter((key) => existsSync(this.pathOf(key))));
  }

  /** Absent folders are empty; any other read error stops the caller (gc would take a folder it cannot read for empty). */
  async list(prefix: string): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    const top = this.pathOf(prefix);
    for (const shard of await readdirIfExistsAsync(top)) {
      const dir = path.join(top, shard);
      const names = await readdirIfExistsAsync(dir);
      const sizes = await Promise.all(names.map((name) => sizeIfExists(path.join(dir, name))));
      names.forEach((name, i) => {
        const size = sizes[i];
        if (size !== undefined) found.set(`${prefix}${shard}/${name}`, size);
      });
    }
    return found;
  }

  async get(key: string): Promise<Readable> {
    const handle = await open(this.pathOf(key)).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') throw new ObjectMissingError(key, this.url);
      throw error;
    });
    return handle.createReadStream({ highWaterMark: 1 << 20 });
  }

  async put(key: string, body: () => Promise<Readable | Buffer>, _size: number): Promise<void> {
    await this.commit(key, async (tmp) => {
      const content = await body();
      if (Buffer.isBuffer(content)) await writeFile(tmp, content);
      else await pipeline(content, createWriteStream(tmp));
    });
  }

  /** Stores a local file (a reflink where the file system supports it), e.g. a freshly computed out. */
  async putFile(key: string, source: string): Promise<void> {
    if (existsSync(this.pathOf(key))) return;
    await this.commit(key, (tmp) => copyFile(source, tmp, constants.COPYFILE_FICLONE));
  }

  async remove(keys: string[]): Promise<void> {
    for (const key of keys) await rm(this.pathOf(key), { force: true });
  }

  /** Temp files older than `ageMs`, left by interrupted writers (never a live writer's, given a generous age). */
  async removeStaleTemps(ageMs: number): Promise<number> {
    let removed = 0;
    for (const name of await readdirIfExistsAsync(this.tmpDir)) {
      const file = path.join(this.tmpDir, name);
      const info = await stat(file).catch((error: unknown) => {
        if (isAbsent(error)) return null;
        throw readFailure(file, error);
      });
      if (info && Date.now() - info.mtimeMs > ageMs) {
        await rm(file, { force: true });
        removed += 1;
      }
    }
    return removed;
  }

  private async commit(key: string, write: (tmp: string) => Promise<void>): Promise<void> {
    const target = this.pathOf(key);
    const tmp = path.join(this.tmpDir, `${path.basename(target)}.${process.pid}.${Math.random().toString(36).slice(2)}`);
    try {
      await mkdir(this.tmpDir, { recursive: true });
      await write(tmp);
      if (key.startsWith(OBJECTS_PREFIX)) await chmod(tmp, 0o444);
      await mkdir(path.dirname(target), { recursive: true });
      await rename(tmp, target);
    } catch (error) {
      await rm(tmp, { force: true });
      const code = (error as NodeJS.ErrnoException).code;
      if (code && NO_SPACE.has(code)) throw new RemoteError(`no space left on the device of ${this.root} while writing ${key} (${code}); free some space and run the command again: it resumes where it stopped`);
      throw error;
    }
  }
}

/** A listed file's size; undefined when it went away since the listing (a concurrent gc or rename). */
async function sizeIfExists(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).size;
  } catch (error) {
    if (isAbsent(error)) return undefined;
    throw readFailure(file, error);
  }
}
