import { existsSync } from 'node:fs';
import path from 'node:path';
import { ContentCache } from '../cache.js';
import { recordsDeclaredOuts } from '../changes.js';
import { buildGraph } from '../graph.js';
import { readLock, type LockedStage } from '../lock.js';
import { makeKdDir, projectPaths } from '../project.js';
import { RunCache } from '../run-cache.js';
import { acquireRunLock } from '../run-lock.js';
import { findProjectRoot, loadPipeline, type StageSpec } from '../spec.js';
import { cachedOutsAvailable } from '../stage-commit.js';
import { CorruptCacheObjectError } from '../verified-objects.js';
import { KdError } from '../../errors.js';
import { hashedOuts, RemoteObjects, type OutRef } from './objects.js';
import { openRemote } from './open.js';
import { mapLimit } from './concurrency.js';
import { withRetries } from './retry.js';
import { fingerprintOfKey, objectKey, RUNS_PREFIX, type ObjectStore } from './store.js';
import { addResults, emptyResult, type FailedObject, type TransferResult } from './transfer.js';
import { TransferProgress } from './transfer-progress.js';

export interface SyncOptions {
  cwd: string;
  /** Stages whose outputs move (default: all). */
  targets: string[];
  remote?: string;
  jobs: number;
  /** Also move run-cache entries (of the selected stages) with their objects. */
  runCache: boolean;
}

export interface PushReport {
  pushed: number;
  skipped: number;
  bytes: number;
  failed: FailedObject[];
  remote: string;
  url: string;
}

export interface PullReport {
  pulled: number;
  skipped: number;
  bytes: number;
  failed: FailedObject[];
  remote: string;
  url: string;
  /** Outs checked out into the workspace (they were missing there). */
  checkedOut: string[];
}

interface Selection {
  root: string;
  stages: StageSpec[];
  /** The lock's entries of the selected stages, by stage name. */
  lockEntries: [string, LockedStage][];
  cache: ContentCache;
  runCache: RunCache;
}

function select(options: SyncOptions): Selection {
  const root = findProjectRoot(options.cwd);
  const graph = buildGraph(loadPipeline(root));
  for (const target of options.targets) {
    if (!graph.stages.has(target)) throw new KdError(`no stage named '${target}' in pipeline.yaml (stages: ${graph.order.join(', ')})`);
  }
  const names = options.targets.length > 0 ? options.targets : graph.order;
  const paths = projectPaths(root);
  const lock = readLock(paths.lockFile);
  return {
    root,
    stages: names.map((name) => graph.stages.get(name) as StageSpec),
    lockEntries: names.flatMap((name) => (lock.stages[name] ? [[name, lock.stages[name]] as [string, LockedStage]] : [])),
    cache: ContentCache.of(paths),
    runCache: new RunCache(paths.runs),
  };
}

/** Run-cache entries that belong to one of the stages (they record exactly its outs). */
function ofStages(entries: Map<string, LockedStage>, stages: StageSpec[]): [string, LockedStage][] {
  return [...entries].filter(([, entry]) => stages.some((stage) => recordsDeclaredOuts(entry, stage)));
}

/** The objects of lock entries, named by stage and path for messages. */
function lockedOuts(entries: [string, LockedStage][]): OutRef[] {
  return entries.flatMap(([name, entry]) => hashedOuts(entry, name));
}

/** The objects of run-cache entries, named by the stage whose outs they record. */
function runOuts(entries: [string, LockedStage][], stages: StageSpec[]): OutRef[] {
  return entries.flatMap(([, entry]) => hashedOuts(entry, stages.find((stage) => recordsDeclaredOuts(entry, stage))?.name));
}

/** Counts of distinct objects (the lock and run-cache entries often share them). */
function summary(result: TransferResult): { moved: number; skipped: number; bytes: number; failed: FailedObject[] } {
  const moved = new Set(result.moved);
  const skipped = new Set(result.skipped.filter((key) => !moved.has(key)));
  const failed = [...new Map(result.failed.map((f) => [f.key, f])).values()];
  return { moved: moved.size, skipped: skipped.size, bytes: result.bytes, failed };
}

/** `kd-pipeline push`: the objects the lock names for the stages, then their run-cache entries with their objects. */
export async function push(options: SyncOptions): Promise<PushReport> {
  const selection = select(options);
  const { remote, store } = await openRemote(selection.root, options.remote, options.jobs);
  const progress = new TransferProgress(`↑ push to ${remote.name}`);
  try {
    const objects = new RemoteObjects(selection.cache, store, { jobs: options.jobs, progress });
    // A run-cache entry whose objects were collected away locally could never restore: not worth pushing.
    const runs: [string, LockedStage][] = [];
    if (options.runCache) {
      for (const run of ofStages(selection.runCache.entries(), selection.stages)) if (await cachedOutsAvailable(run[1], selection.cache)) runs.push(run);
    }
    const result = await objects.sendOuts([...lockedOuts(selection.lockEntries), ...runOuts(runs, selection.stages)]);
    const notSent = new Set(result.failed.map((f) => f.key));
    const complete = runs.filter(([, entry]) => hashedOuts(entry).every((out) => !notSent.has(objectKey(out.hash))));
    addResults(result, await objects.moveRuns('push', complete.map(([fingerprint]) => fingerprint)));
    const { moved, skipped, bytes, failed } = summary(result);
    return { pushed: moved, skipped, bytes, failed, remote: remote.name, url: store.url };
  } finally {
    progress.close();
  }
}

/**
 * `kd-pipeline pull`: the objects the lock names for the stages (verified on the way in), the
 * remote's run-cache entries of those stages with their objects, then a checkout of the outs that
 * are missing from the workspace. Takes the run lock: it writes outs.
 */
export async function pull(options: SyncOptions & { wait?: boolean }): Promise<PullReport> {
  const selection = select(options);
  const paths = projectPaths(selection.root);
  const { remote, store } = await openRemote(selection.root, options.remote, options.jobs);
  const release = await acquireRunLock(paths.runLock, { wait: options.wait === true });
  makeKdDir(paths);
  const progress = new TransferProgress(`↓ pull from ${remote.name}`);
  try {
    const objects = new RemoteObjects(selection.cache, store, { jobs: options.jobs, progress });
    const result = await objects.fetchOuts(lockedOuts(selection.lockEntries));
    if (options.runCache) addResults(result, await pullRuns(objects, store, selection));
    progress.close();
    const checkedOut = await checkoutMissing(selection, result);
    const { moved, skipped, bytes, failed } = summary(result);
    return { pulled: moved, skipped, bytes, failed, remote: remote.name, url: store.url, checkedOut };
  } finally {
    progress.close();
    release();
  }
}

/** The remote's run-cache entries for the selected stages that the local run-cache lacks, each with its objects. */
async function pullRuns(objects: RemoteObjects, store: ObjectStore, selection: Selection): Promise<TransferResult> {
  const result = emptyResult();
  const remoteKeys = [...(await withRetries(() => store.list(RUNS_PREFIX))).keys()];
  const local = await selection.cache.store.has(remoteKeys);
  result.skipped.push(...remoteKeys.filter((key) => local.has(key)));
  const fingerprints = remoteKeys.filter((key) => !local.has(key)).map(fingerprintOfKey);
  const entries = await mapLimit(fingerprints, objects.jobs, (fingerprint) => withRetries(() => objects.remoteRun(fingerprint)));
  const missing = new Map(fingerprints.flatMap((fingerprint, i) => (entries[i] ? [[fingerprint, entries[i]] as const] : [])));
  const wanted = ofStages(missing, selection.stages);
  addResults(result, await objects.fetchOuts(runOuts(wanted, selection.stages)));
  const complete: string[] = [];
  for (const [fingerprint, entry] of wanted) {
    if (await cachedOutsAvailable(entry, selection.cache)) complete.push(fingerprint);
  }
  return addResults(result, await objects.moveRuns('pull', complete));
}

/**
 * Checks out each locked out that is missing from the workspace and now in the cache; never
 * replaces an existing file. A cached object found corrupt is quarantined and reported in `result`.
 */
async function checkoutMissing(selection: Selection, result: TransferResult): Promise<string[]> {
  const done: string[] = [];
  for (const [name, entry] of selection.lockEntries) {
    for (const out of entry.outs) {
      if (!('hash' in out)) continue;
      const target = path.join(selection.root, out.path);
      if (existsSync(target) || !(await selection.cache.has(out.hash))) continue;
      try {
        await selection.cache.checkout(target, out.hash, out.isexec === true);
        done.push(out.path);
      } catch (error) {
        if (!(error instanceof CorruptCacheObjectError)) throw error;
        result.failed.push({ key: objectKey(error.hash), reason: 'corrupt', error: `stage ${name}: ${error.describe(selection.root)}; not checked out` });
      }
    }
  }
  return done;
}
