import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The commit checked out at `root`, read from .git without spawning git (null outside a repository). */
export function gitCommit(root: string): string | null {
  let dir = root;
  while (!existsSync(path.join(dir, '.git'))) {
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
  try {
    const gitDir = path.join(dir, '.git');
    const head = readFileSync(path.join(gitDir, 'HEAD'), 'utf8').trim();
    if (!head.startsWith('ref: ')) return head;
    const ref = head.slice(5);
    if (existsSync(path.join(gitDir, ref))) return readFileSync(path.join(gitDir, ref), 'utf8').trim();
    const packed = readFileSync(path.join(gitDir, 'packed-refs'), 'utf8');
    return packed.split('\n').find((line) => line.endsWith(` ${ref}`))?.split(' ')[0] ?? null;
  } catch {
    return null;
  }
}
