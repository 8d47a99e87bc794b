import { createHash } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import type { Project } from './harness.js';

export const md5 = (bytes: Buffer | string): string => createHash('md5').update(bytes).digest('hex');

/** `cache/ab/cdef…`: an object's key in every store. */
export const keyOf = (hash: string): string => `cache/${hash.slice(0, 2)}/${hash.slice(2)}`;

/** Flips one bit of a file in place (same size, new mtime), as bit rot or a bad disk would, read-only or not. */
export function flipByte(file: string, at = 10): void {
  chmodSync(file, 0o644);
  const bytes = readFileSync(file);
  const i = Math.min(at, bytes.length - 1);
  bytes[i] = (bytes[i] as number) ^ 1;
  writeFileSync(file, bytes);
  chmodSync(file, 0o444);
}

/** The hash pipeline.lock records for a stage's out. */
export function lockedHash(p: Project, stage: string, out: string): string {
  return (p.lock().stages[stage].outs as { path: string; hash: string }[]).find((o) => o.path === out)?.hash as string;
}

/** The hash of file `rel` inside a cached directory out. */
export function dirEntryHash(p: Project, dirHash: string, rel: string): string {
  const manifest = JSON.parse(p.read(`.kd/${keyOf(dirHash)}`)) as { path: string; hash: string }[];
  return manifest.find((e) => e.path === rel)?.hash as string;
}
