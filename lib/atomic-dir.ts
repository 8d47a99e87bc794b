import { mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';

/**
 * Fills a sibling temp directory with `fill`, then swaps it in place of `dir`: a failure half-way
 * leaves the previous output untouched and no partial directory behind.
 */
export async function writeDirAtomic(dir: string, fill: (tmp: string) => void | Promise<void>): Promise<void> {
  mkdirSync(path.dirname(dir), { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  const old = `${dir}.old-${process.pid}-${Date.now()}`;
  mkdirSync(tmp);
  try {
    await fill(tmp);
    try {
      renameSync(dir, old);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    renameSync(tmp, dir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
  }
}
