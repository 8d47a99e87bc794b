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

/** Temp directories being filled now: removed if the process exits half-way (e.g. a stage on Ctrl-C, see commands/stage.ts). */
const filling = new Set<string>();
let cleanupRegistered = false;

function track(tmp: string): void {
  if (!cleanupRegistered) {
    process.on('exit', () => filling.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
    cleanupRegistered = true;
  }
  filling.add(tmp);
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
  track(tmp);
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
    filling.delete(tmp);
    rmSync(tmp, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
    if (!done && createdParent) removeEmptyUpTo(path.dirname(dir), createdParent);
  }
}
