import { spawnSync } from 'node:child_process';
import { KdError } from '../errors.js';
import { parseLock, type Lock } from './lock.js';
import { LOCK_FILE } from './project.js';

function git(root: string, args: string[], input?: string): Buffer {
  const result = spawnSync('git', ['-C', root, ...args], { input, maxBuffer: 1 << 30 });
  if (result.error) {
    const missing = (result.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new KdError(`--all-commits needs git${missing ? ', which is not installed' : ` (${result.error.message})`}`);
  }
  if (result.status !== 0) {
    const stderr = result.stderr.toString().trim().split('\n')[0] ?? '';
    if (/not a git repository/i.test(stderr)) throw new KdError(`--all-commits reads ${LOCK_FILE} from git history, but ${root} is not in a git repository`);
    throw new KdError(`git ${args[0]} failed: ${stderr}`);
  }
  return result.stdout;
}

/**
 * Every version of pipeline.lock committed on any branch or tag (`git log --all`), as DVC's
 * `gc --all-commits` keeps: a teammate's branch may still need objects the workspace's lock no
 * longer names. All blobs come from one `git cat-file --batch`, so a long history costs one process.
 */
export function lockHistory(root: string): { source: string; lock: Lock }[] {
  const prefix = git(root, ['rev-parse', '--show-prefix']).toString().trim();
  const commits = git(root, ['log', '--all', '--format=%H', '--', LOCK_FILE]).toString().split('\n').filter(Boolean);
  if (commits.length === 0) return [];
  const out = git(root, ['cat-file', '--batch'], commits.map((c) => `${c}:${prefix}${LOCK_FILE}\n`).join(''));
  const seen = new Set<string>();
  const locks: { source: string; lock: Lock }[] = [];
  let at = 0;
  for (const commit of commits) {
    const eol = out.indexOf(0x0a, at);
    const header = out.subarray(at, eol).toString().split(' ');
    at = eol + 1;
    // `<name> missing`: the commit deleted the lock.
    if (header[1] !== 'blob') continue;
    const size = Number(header[2]);
    const text = out.subarray(at, at + size).toString('utf8');
    at += size + 1;
    if (seen.has(header[0] as string)) continue;
    seen.add(header[0] as string);
    const source = `${LOCK_FILE} at ${commit.slice(0, 10)}`;
    locks.push({ source, lock: parseLock(text, source) });
  }
  return locks;
}
