import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { stagePath } from './graph.js';
import type { PathHash } from './hashing.js';
import { hashPath } from './hashing.js';
import { fingerprint, type LockedStage, type StageIdentity } from './lock.js';
import { getDotted, type PipelineSpec, type StageSpec } from './spec.js';
import type { StateStore } from './state-store.js';

/** A stage compared with its lock entry: why it would run, if it would. */
export interface StageCheck {
  identity: StageIdentity;
  fingerprint: string;
  /** Current hashes of the declared deps (null for a missing dep). */
  deps: Map<string, PathHash | null>;
  /** The fingerprint (cmd, deps, params) matches the lock entry. */
  identityMatches: boolean;
  /** Non-persist outs that are absent, or whose content differs from the lock. */
  missingOuts: string[];
  modifiedOuts: string[];
  upToDate: boolean;
  /** Only outs are missing: the lock's outputs can be checked out of the cache instead of running. */
  restorable: boolean;
  reasons: string[];
}

const show = (value: unknown): string => (value === undefined ? 'unset' : JSON.stringify(value));

/** One params file's declared values as leaf keys: `{student: {alpha: 0.7}}` → `{'student.alpha': 0.7}`. */
export function paramLeaves(values: Record<string, unknown>): Record<string, unknown> {
  const flat: Record<string, unknown> = {};
  const walk = (value: unknown, key: string): void => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, `${key}.${k}`);
    } else flat[key] = value;
  };
  for (const [key, value] of Object.entries(values)) walk(value, key);
  return flat;
}

/** The values of exactly the params keys the stage declares: file → key → value. */
export function declaredParams(stage: StageSpec, spec: PipelineSpec): Record<string, Record<string, unknown>> {
  const params: Record<string, Record<string, unknown>> = {};
  for (const [file, keys] of Object.entries(stage.params)) {
    params[file] = Object.fromEntries(keys.map((key) => [key, getDotted(spec.paramsFiles[file], key)]));
  }
  return params;
}

/** Nested params are compared leaf by leaf, so a reason names `student.temperature`, not `student`. */
function compareParam(key: string, before: unknown, now: unknown, reasons: string[]): void {
  const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isMap(before) && isMap(now)) {
    for (const k of new Set([...Object.keys(before), ...Object.keys(now)])) compareParam(`${key}.${k}`, before[k], now[k], reasons);
  } else if (!isDeepStrictEqual(before, now)) {
    reasons.push(`param '${key}' changed (${show(before)} → ${show(now)})`);
  }
}

function paramReasons(current: StageIdentity['params'], locked: LockedStage['params']): string[] {
  const reasons: string[] = [];
  const files = new Set([...Object.keys(current), ...Object.keys(locked)]);
  for (const file of files) {
    const now = current[file] ?? {};
    const before = locked[file] ?? {};
    for (const key of new Set([...Object.keys(now), ...Object.keys(before)])) {
      if (!(key in before)) reasons.push(`param '${key}' is new`);
      else if (!(key in now)) reasons.push(`param '${key}' is no longer declared`);
      else compareParam(key, before[key], now[key], reasons);
    }
  }
  return reasons;
}

function depReasons(current: Map<string, PathHash | null>, locked: LockedStage['deps']): string[] {
  const reasons: string[] = [];
  const before = new Map(locked.map((d) => [d.path, d.hash]));
  for (const [file, hash] of current) {
    if (!hash) reasons.push(`dep '${file}' is missing`);
    else if (!before.has(file)) reasons.push(`dep '${file}' is new`);
    else if (before.get(file) !== hash.hash) reasons.push(`dep '${file}' changed`);
  }
  for (const file of before.keys()) if (!current.has(file)) reasons.push(`dep '${file}' was removed`);
  return reasons;
}

/**
 * Whether a lock or run-cache entry records exactly the outs the stage declares now (path, and
 * persist or cache), so that restoring it yields every declared out. Outs are not part of the
 * fingerprint, so an entry from before an out was declared must not stand in for a run.
 */
export function recordsDeclaredOuts(entry: LockedStage, stage: StageSpec): boolean {
  const kind = (persist: boolean, cache: boolean) => (persist ? 'persist' : cache ? 'cache' : 'no-cache');
  const declared = stage.outs.map((o) => `${stagePath(stage, o.path)}\0${kind(o.persist, o.cache)}`).sort();
  const recorded = entry.outs.map((o) => `${o.path}\0${'hash' in o ? kind(false, o.cache !== false) : kind(true, true)}`).sort();
  return declared.length === recorded.length && declared.every((key, i) => key === recorded[i]);
}

/** Hashes the stage's deps and outs (through the state store) and compares them with its lock entry. */
export async function checkStage(
  stage: StageSpec,
  spec: PipelineSpec,
  locked: LockedStage | undefined,
  state: StateStore,
): Promise<StageCheck> {
  const deps = new Map<string, PathHash | null>();
  for (const dep of stage.deps) {
    const file = stagePath(stage, dep);
    deps.set(file, await hashPath(path.join(spec.root, file), state));
  }
  const identity: StageIdentity = {
    cmd: stage.cmd,
    ...(stage.wdir !== '.' ? { wdir: stage.wdir } : {}),
    deps: [...deps].map(([file, hash]) => ({ path: file, hash: hash?.hash ?? 'missing' })),
    params: declaredParams(stage, spec),
  };
  const check: StageCheck = {
    identity,
    fingerprint: fingerprint(identity),
    deps,
    identityMatches: false,
    missingOuts: [],
    modifiedOuts: [],
    upToDate: false,
    restorable: false,
    reasons: [],
  };
  if (!locked) {
    check.reasons.push('never ran');
    return check;
  }
  const reasons: string[] = [];
  if (locked.cmd !== stage.cmd || (locked.wdir ?? '.') !== stage.wdir) reasons.push('cmd changed');
  reasons.push(...depReasons(deps, locked.deps), ...paramReasons(identity.params, locked.params));
  check.identityMatches = reasons.length === 0;

  const lockedOuts = new Map(locked.outs.map((o) => [o.path, o]));
  // Paths and persist/cache flags: an out that stopped being persist must be run and cached.
  const outsRedeclared = !recordsDeclaredOuts(locked, stage);
  for (const out of stage.outs) {
    const file = stagePath(stage, out.path);
    const before = lockedOuts.get(file);
    if (!before || out.persist || !('hash' in before)) continue;
    const now = await hashPath(path.join(spec.root, file), state);
    if (!now) check.missingOuts.push(file);
    else if (now.hash !== before.hash) check.modifiedOuts.push(file);
  }
  if (outsRedeclared) reasons.push('outs changed');
  reasons.push(...check.missingOuts.map((f) => `out '${f}' is missing`), ...check.modifiedOuts.map((f) => `out '${f}' was modified`));
  if (stage.alwaysChanged) reasons.push('always_changed');
  check.reasons = reasons;
  check.restorable =
    check.identityMatches && !outsRedeclared && !stage.alwaysChanged && check.modifiedOuts.length === 0 && check.missingOuts.length > 0;
  check.upToDate = reasons.length === 0;
  return check;
}
