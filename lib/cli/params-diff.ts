import { isDeepStrictEqual } from 'node:util';
import { declaredParams, paramLeaves } from '../pipeline/changes.js';
import { readLock } from '../pipeline/lock.js';
import { projectPaths } from '../pipeline/project.js';
import { findProjectRoot, loadPipeline } from '../pipeline/spec.js';

export interface ParamRow {
  file: string;
  key: string;
  old: unknown;
  new: unknown;
}

/** Workspace values of every declared params key compared with the values in pipeline.lock. */
export function paramsDiff(cwd: string, all: boolean): ParamRow[] {
  const root = findProjectRoot(cwd);
  const spec = loadPipeline(root);
  const lock = readLock(projectPaths(root).lockFile);
  const now = new Map<string, Map<string, unknown>>();
  const before = new Map<string, Map<string, unknown>>();
  const add = (target: Map<string, Map<string, unknown>>, params: Record<string, Record<string, unknown>>) => {
    for (const [file, values] of Object.entries(params)) {
      const flat = target.get(file) ?? new Map<string, unknown>();
      // One row per leaf key: `data` shows as `data.path`, `data.split.val`, …
      for (const [key, value] of Object.entries(paramLeaves(values))) flat.set(key, value);
      target.set(file, flat);
    }
  };
  for (const stage of spec.stages) add(now, declaredParams(stage, spec));
  for (const entry of Object.values(lock.stages)) add(before, entry.params);
  const rows: ParamRow[] = [];
  for (const file of new Set([...now.keys(), ...before.keys()])) {
    const a = before.get(file) ?? new Map();
    const b = now.get(file) ?? new Map();
    for (const key of [...new Set([...a.keys(), ...b.keys()])].sort()) {
      if (all || !isDeepStrictEqual(a.get(key), b.get(key))) rows.push({ file, key, old: a.has(key) ? a.get(key) : null, new: b.has(key) ? b.get(key) : null });
    }
  }
  return rows;
}
