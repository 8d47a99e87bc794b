import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KdError } from '../errors.js';

function holderPid(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    return Number.isFinite(pid) ? pid : undefined;
  } catch {
    return undefined;
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
  const pid = holderPid(file);
  return pid !== undefined && isAlive(pid) ? pid : undefined;
}

export interface PidLockOptions {
  /** Called each time the lock is found held by a live process: throw to give up, return to wait. */
  onBusy(pid: number, first: boolean): void;
  /** Stops waiting (the promise rejects with an AbortError). */
  signal?: AbortSignal;
  pollMs?: number;
}

/**
 * An exclusive lock as a file created with O_EXCL that holds the holder's pid; a lock left by a
 * process that no longer exists (e.g. after kill -9) is taken over. Returns the release function.
 */
export async function acquirePidLock(file: string, options: PidLockOptions): Promise<() => void> {
  mkdirSync(path.dirname(file), { recursive: true });
  let first = true;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const pid = holderPid(file);
    if (pid === undefined || !isAlive(pid)) {
      rmSync(file, { force: true });
      continue;
    }
    options.onBusy(pid, first);
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
