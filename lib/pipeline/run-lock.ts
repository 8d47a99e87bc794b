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

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One `kd-pipeline run` per project at a time: the lock file holds the runner's pid and is created
 * exclusively. A lock left by a process that no longer exists (e.g. after kill -9) is taken over.
 */
export async function acquireRunLock(file: string, options: { wait: boolean }): Promise<() => void> {
  mkdirSync(path.dirname(file), { recursive: true });
  let announced = false;
  for (;;) {
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
    if (!options.wait) {
      throw new KdError(`another kd-pipeline run (pid ${pid}) is running in ${path.dirname(path.dirname(file))}; wait for it to finish or pass --wait`);
    }
    if (!announced) process.stderr.write(`kd-pipeline: waiting for the run in progress (pid ${pid}) to finish…\n`);
    announced = true;
    await sleep(250);
  }
}
