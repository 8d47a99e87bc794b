import { mkdirSync, readdirSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import path from 'node:path';

/** Removes the folders from `deepest` up to `top` (both included) that are empty. */
function removeEmptyUpTo(deepest: string, top: string): void {
  for (let dir = deepest; ; dir = path.dirname(dir)) {
    if (readdirSync(dir).length > 0) return;
    rmdirSync(dir);
    if (dir === top || path.dirname(dir) === dir) return;
  }
}

/**
 * Fills a sibling temp directory with `fill`, then swaps it in place of `dir`: a failure half-way
 * leaves the previous output untouched and no partial directory behind (nor the parent folders
 * this call created for it).
 */
export async function writeDirAtomic(dir: string, fill: (tmp: string) => void | Promise<void>): Promise<void> {
  const createdParent = mkdirSync(path.dirname(dir), { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  const old = `${dir}.old-${process.pid}-${Date.now()}`;
  mkdirSync(tmp);
  let done = false;
  try {
    await fill(tmp);
    try {
      renameSync(dir, old);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    renameSync(tmp, dir);
    done = true;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
    if (!done && createdParent) removeEmptyUpTo(path.dirname(dir), createdParent);
  }
}
