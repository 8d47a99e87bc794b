import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ContentCache } from './cache.js';
import type { StageCheck } from './changes.js';
import { stagePath } from './graph.js';
import { hashPath } from './hashing.js';
import type { HashedPath, LockedOut, LockedStage } from './lock.js';
import { readMetricsFile } from './metrics-values.js';
import type { StageSpec } from './spec.js';
import type { StateStore } from './state-store.js';

/** Outs are removed before a stage runs (unless persist), so a stage never sees stale outputs. */
export async function prepareOuts(root: string, stage: StageSpec): Promise<void> {
  for (const out of stage.outs) {
    const file = path.join(root, stagePath(stage, out.path));
    if (!out.persist) await rm(file, { recursive: true, force: true });
    await mkdir(path.dirname(file), { recursive: true });
  }
}

/** A declared out that is missing, or a metrics file that does not parse: the stage fails with this message. */
export class StageOutError extends Error {}

/**
 * After a successful command: checks every declared out exists, stores the outs in the content
 * cache (uncached ones too, so the run-cache can restore them, as DVC does) and returns the lock
 * entry. The entry is returned only once every object is in the cache, so a lock never points at
 * a partial cache entry.
 */
export async function commitStage(
  root: string,
  stage: StageSpec,
  check: StageCheck,
  cache: ContentCache,
  state: StateStore,
  runId: string,
): Promise<LockedStage> {
  const outs: LockedOut[] = [];
  const metrics: Record<string, Record<string, number>> = {};
  for (const out of stage.outs) {
    const rel = stagePath(stage, out.path);
    const abs = path.join(root, rel);
    if (!existsSync(abs)) throw new StageOutError(`stage '${stage.name}' did not produce its declared out '${rel}'`);
    if (out.persist) {
      outs.push({ path: rel, persist: true });
      continue;
    }
    if (out.kind === 'metrics') {
      // Before caching: a metrics file that does not parse would otherwise vanish from the lock and MLflow.
      try {
        const values = readMetricsFile(abs, rel);
        if (values) metrics[rel] = values;
      } catch (error) {
        throw new StageOutError(`stage '${stage.name}': ${(error as Error).message}`);
      }
    }
    const hashed = await hashPath(abs, state);
    if (!hashed) throw new StageOutError(`stage '${stage.name}' did not produce its declared out '${rel}'`);
    await cache.save(abs, hashed);
    outs.push({ ...toLocked(rel, hashed), ...(out.cache ? {} : { cache: false as const }) });
  }
  const deps = [...check.deps].flatMap(([file, hash]) => (hash ? [toLocked(file, hash)] : []));
  return {
    cmd: stage.cmd,
    ...(stage.wdir !== '.' ? { wdir: stage.wdir } : {}),
    deps,
    params: check.identity.params,
    outs,
    ...(Object.keys(metrics).length > 0 ? { metrics } : {}),
    run: runId,
  };
}

function toLocked(file: string, hashed: { hash: string; size: number; nfiles?: number; isexec?: true }): HashedPath {
  return {
    path: file,
    hash: hashed.hash,
    size: hashed.size,
    ...(hashed.nfiles !== undefined ? { nfiles: hashed.nfiles } : {}),
    ...(hashed.isexec ? { isexec: true as const } : {}),
  };
}

/** Whether every hashed out of a lock entry can be checked out of the cache. */
export async function cachedOutsAvailable(entry: LockedStage, cache: ContentCache): Promise<boolean> {
  for (const out of entry.outs) if ('hash' in out && !(await cache.has(out.hash))) return false;
  return true;
}

/** Checks the entry's outs out of the cache (only `only`, when given). */
export async function restoreOuts(root: string, entry: LockedStage, cache: ContentCache, only?: string[]): Promise<void> {
  for (const out of entry.outs) {
    if (!('hash' in out) || (only && !only.includes(out.path))) continue;
    await cache.checkout(path.join(root, out.path), out.hash, out.isexec === true);
  }
}
