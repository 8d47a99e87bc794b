import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, linkSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KdError } from '../errors.js';
import { isAbsent, readFailure } from '../read-file.js';

/** Who holds a pid lock file, and which file it is (inode, mtime and content together). */
interface Holder {
  pid: number | undefined;
  identity: string;
}

/** The lock file's holder, read from one open file so pid and identity describe the same file; undefined when absent. */
function readHolder(file: string): Holder | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    if (isAbsent(error)) return undefined;
    throw readFailure(file, error);
  }
  try {
    const info = fstatSync(fd, { bigint: true });
    const text = readFileSync(fd, 'utf8');
    const pid = Number.parseInt(text, 10);
    return { pid: Number.isFinite(pid) ? pid : undefined, identity: `${info.ino}-${info.mtimeNs}-${text.trim()}` };
  } finally {
    closeSync(fd);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid holding a pid lock file, if that process still exists. */
export function liveHolder(file: string): number | undefined {
  const pid = readHolder(file)?.pid;
  return pid !== undefined && isAlive(pid) ? pid : undefined;
}

export interface PidLockOptions {
  /** Called each time the lock is found held by a live process: throw to give up, return to wait. */
  onBusy(pid: number, first: boolean): void;
  /** Stops waiting (the promise rejects with an AbortError). */
  signal?: AbortSignal;
  pollMs?: number;
}

/** What link() answers on a file system without hard links (some FUSE and SMB mounts, FAT). */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/**
 * Puts a lock file holding our pid into place, all or nothing: the pid is written to a temp file
 * first and hard-linked to the lock's name (link fails with EEXIST when the lock is held), so no
 * one ever reads a lock without its pid. Returns the lock's identity, or undefined when held.
 */
function tryLink(file: string): string | undefined {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, String(process.pid));
  try {
    linkSync(tmp, file);
    return readHolder(tmp)?.identity;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return undefined;
    if (code && NO_LINKS.has(code)) throw new KdError(`${file}: cannot take the lock: the file system does not support hard links (${code})`);
    throw error;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Removes the lock file only if it is still ours (never one taken since by someone else). */
function releaseIfMine(file: string, identity: string): void {
  if (readHolder(file)?.identity === identity) rmSync(file, { force: true });
}

/**
 * Removes a lock whose holder is gone. Several processes may find the same stale lock: the removal
 * happens under a claim on that very file (its identity), itself a pid lock, so only one of them
 * removes it, a claimant killed half-way is taken over in turn, and a lock put in place since (a
 * new identity, even on a reused inode) is never removed.
 */
async function removeStale(file: string, stale: Holder, signal: AbortSignal | undefined): Promise<void> {
  const claim = `${file}.stale-${stale.identity.split('-').slice(0, 2).join('-')}`;
  const release = await acquirePidLock(claim, { onBusy: () => undefined, pollMs: 20, ...(signal ? { signal } : {}) });
  try {
    if (readHolder(file)?.identity === stale.identity) rmSync(file, { force: true });
  } finally {
    release();
  }
}

/**
 * An exclusive lock as a file that holds the holder's pid, taken atomically (see tryLink); a lock
 * left by a process that no longer exists (e.g. after kill -9) is taken over. Returns the release function.
 */
export async function acquirePidLock(file: string, options: PidLockOptions): Promise<() => void> {
  mkdirSync(path.dirname(file), { recursive: true });
  let first = true;
  for (;;) {
    options.signal?.throwIfAborted();
    const mine = tryLink(file);
    if (mine !== undefined) return () => releaseIfMine(file, mine);
    const holder = readHolder(file);
    if (holder === undefined) continue; // released in between
    if (holder.pid === undefined || !isAlive(holder.pid)) {
      await removeStale(file, holder, options.signal);
      continue;
    }
    options.onBusy(holder.pid, first);
    first = false;
    await sleep(options.pollMs ?? 250, undefined, options.signal ? { signal: options.signal } : {});
  }
}

/** One `kd-pipeline run` per project at a time. */
export async function acquireRunLock(file: string, options: { wait: boolean }): Promise<() => void> {
  return acquirePidLock(file, {
    onBusy(pid, first) {
      if (!options.wait) {
        throw new KdError(`another kd-pipeline run (pid ${pid}) is running in ${path.dirname(path.dirname(file))}; wait for it to finish or pass --wait`);
      }
      if (first) process.stderr.write(`kd-pipeline: waiting for the run in progress (pid ${pid}) to finish…\n`);
    },
  });
}

/** Claims a stage fingerprint (waiting while another run holds it); resolves with the release function. */
export type FingerprintClaimer = (fingerprint: string, signal: AbortSignal, onWait: () => void) => Promise<() => void>;

/**
 * A claim on a stage fingerprint in the shared `.kd/claims/`: while one run (an experiment trial,
 * in this or another process) executes a stage, any other run about to execute the same
 * fingerprint waits, then finds it in the run-cache and restores it instead of running it again.
 */
export function claimFingerprint(dir: string, fingerprint: string, signal: AbortSignal, onWait: () => void): Promise<() => void> {
  return acquirePidLock(path.join(dir, `${fingerprint}.claim`), {
    signal,
    pollMs: 100,
    onBusy: (_pid, first) => {
      if (first) onWait();
    },
  });
}
