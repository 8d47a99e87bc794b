import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { KdError } from '../errors.js';
import type { FileStamp, StateStore } from './state-store.js';

/** One file of a directory out, as recorded in the directory's manifest. */
export interface ManifestEntry {
  path: string;
  hash: string;
  size: number;
  /** Executable by its owner: restored with the x bits (as DVC records `isexec`). */
  isexec?: true;
}

/** The content identity of a file or directory, as the lock records it. */
export interface PathHash {
  hash: string;
  size: number;
  /** Files only: executable by its owner. */
  isexec?: true;
  /** Directories only: number of files, and the sorted manifest whose hash is the directory's. */
  nfiles?: number;
  manifest?: ManifestEntry[];
}

/** DVC's convention: a directory's hash is the hash of its manifest, suffixed `.dir`. */
export const DIR_SUFFIX = '.dir';

export function isDirHash(hash: string): boolean {
  return hash.endsWith(DIR_SUFFIX);
}

export function md5File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('md5');
    createReadStream(file, { highWaterMark: 1 << 20 })
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

export function manifestHash(manifest: ManifestEntry[]): string {
  return createHash('md5').update(JSON.stringify(manifest)).digest('hex') + DIR_SUFFIX;
}

async function fileHash(file: string, stamp: FileStamp, state: StateStore): Promise<string> {
  const known = state.get(file, stamp);
  if (known) return known;
  const hash = await md5File(file);
  state.set(file, stamp, hash);
  return hash;
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...(await listFiles(path.join(dir, entry.name), rel)));
    else if (entry.isFile()) files.push(rel);
  }
  return files;
}

function execBit(mode: bigint): { isexec?: true } {
  return (mode & 0o100n) !== 0n ? { isexec: true } : {};
}

/** What identifies a file's content without reading it (see StateStore). */
export function stampOf(info: BigIntStats): FileStamp {
  return { size: Number(info.size), mtimeNs: String(info.mtimeNs), ino: String(info.ino) };
}

/** Only "absent" may read as absent: ENOENT, or ENOTDIR (a parent is a file). */
export function isAbsent(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * `stat` that answers null only when the path is absent. Any other failure (EACCES, EIO, ELOOP…)
 * stops the command naming the path: read as "missing", it would make checkout delete the output.
 */
export async function statIfPresent(file: string, link = false): Promise<BigIntStats | null> {
  try {
    return await (link ? lstat : stat)(file, { bigint: true });
  } catch (error) {
    if (isAbsent(error)) return null;
    throw new KdError(`cannot read ${file}: ${(error as Error).message}; it is not treated as missing (fix its permissions or the disk, then run again)`);
  }
}

/** The hash of a file or directory (directories by a sorted manifest of relative path + hash), or null if absent. */
export async function hashPath(file: string, state: StateStore): Promise<PathHash | null> {
  const info = await statIfPresent(file);
  if (!info) return null;
  if (!info.isDirectory()) {
    return { hash: await fileHash(file, stampOf(info), state), size: Number(info.size), ...execBit(info.mode) };
  }
  const manifest: ManifestEntry[] = [];
  for (const rel of (await listFiles(file)).sort()) {
    const abs = path.join(file, rel);
    const s = await stat(abs, { bigint: true });
    manifest.push({ path: rel, hash: await fileHash(abs, stampOf(s), state), size: Number(s.size), ...execBit(s.mode) });
  }
  return {
    hash: manifestHash(manifest),
    size: manifest.reduce((sum, e) => sum + e.size, 0),
    nfiles: manifest.length,
    manifest,
  };
}
