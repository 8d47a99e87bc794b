// Timing helpers shared by the benchmarks.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// CPU time (user + sys, 10 ms resolution) of each child through GNU time when it is installed: on
// a shared machine it varies far less with the load than wall time does.
export const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const timeDir = mkdtempSync(path.join(os.tmpdir(), 'kd-bench-time-'));
const timeFile = path.join(timeDir, 'cpu');
process.on('exit', () => rmSync(timeDir, { recursive: true, force: true }));

/** Spawns `argv` synchronously; returns its wall seconds and, with GNU time, its CPU seconds. */
export function timed(argv, options) {
  const [cmd, args] = GNU_TIME ? [GNU_TIME, ['-f', '%U %S', '-o', timeFile, ...argv]] : [argv[0], argv.slice(1)];
  const began = performance.now();
  const result = spawnSync(cmd, args, options);
  const seconds = (performance.now() - began) / 1000;
  const cpu = GNU_TIME ? readFileSync(timeFile, 'utf8').trim().split('\n').at(-1).split(' ').reduce((sum, x) => sum + Number(x), 0) : NaN;
  return { ...result, seconds, cpu };
}

export function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
  return { median: at(0.5), p90: at(0.9), min: s[0], n: s.length };
}
