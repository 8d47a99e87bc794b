import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { writeFileAtomic } from '../../atomic-write.js';
import { KdError } from '../../errors.js';
import { ContentCache } from '../cache.js';
import { paramLeaves } from '../changes.js';
import { buildGraph } from '../graph.js';
import { hashPath } from '../hashing.js';
import { readLock, writeLock } from '../lock.js';
import { readParamsText, setParamValues } from '../params-set.js';
import { makeKdDir, projectPaths } from '../project.js';
import { acquireRunLock } from '../run-lock.js';
import { findProjectRoot, loadPipeline, PARAMS_FILE, PIPELINE_FILE } from '../spec.js';
import { cachedOutsAvailable } from '../stage-commit.js';
import { StateStore } from '../state-store.js';
import { loadYaml } from '../yaml-memo.js';
import { findTrial } from './store.js';

export interface ApplyReport {
  id: string;
  /** Dotted params keys whose workspace value changed. */
  params: string[];
  /** Outs checked out of the cache (those already identical are left alone). */
  checkedOut: string[];
  warnings: string[];
}

/**
 * `exp apply ID`: the trial's params into the workspace's params.yaml (comments kept), its
 * pipeline.lock into the workspace, and its outputs checked out of the cache; nothing runs, so
 * `status` then finds the workspace up to date. Everything is checked before anything is written.
 */
export async function applyTrial(cwd: string, id: string): Promise<ApplyReport> {
  const command = 'exp apply';
  const root = findProjectRoot(cwd);
  const paths = projectPaths(root);
  const { record, dir } = findTrial(paths, id, command);
  if (record.status !== 'ok') {
    throw new KdError(`${command}: ${id} ${record.status === 'running' ? 'is still running' : `failed (${record.error ?? 'a stage failed'})`}; only a trial that completed can be applied`);
  }
  const trialParams = (loadYaml().parse(readFileSync(path.join(dir, PARAMS_FILE), 'utf8')) ?? {}) as Record<string, unknown>;
  const workspaceText = readParamsText(root, command);
  const workspaceParams = (loadYaml().parse(workspaceText) ?? {}) as Record<string, unknown>;
  const current = paramLeaves(workspaceParams);
  const changed = Object.entries(paramLeaves(trialParams)).filter(([key, value]) => !isDeepStrictEqual(current[key], value));
  // A trial may have added a key (`-S +key=…`): applying it adds it here too.
  const text = setParamValues(workspaceText, changed.map(([key, value]) => ({ key, value, add: true, origin: `${command} ${id}` })));
  const lock = readLock(path.join(dir, 'pipeline.lock'));
  const cache = ContentCache.of(paths);
  for (const [stage, entry] of Object.entries(lock.stages)) {
    if (!(await cachedOutsAvailable(entry, cache))) throw new KdError(`${command}: the outputs of ${id}'s stage '${stage}' are no longer in the cache; run the trial again`);
  }
  const warnings: string[] = [];
  if (readFileSync(path.join(dir, PIPELINE_FILE), 'utf8') !== readFileSync(path.join(root, PIPELINE_FILE), 'utf8')) {
    warnings.push(`${PIPELINE_FILE} changed since ${id} ran: status may find stages to run`);
  }

  const release = await acquireRunLock(paths.runLock, { wait: false });
  try {
    makeKdDir(paths);
    writeFileAtomic(path.join(root, PARAMS_FILE), text);
    const state = new StateStore(paths.state);
    const checkedOut: string[] = [];
    for (const entry of Object.values(lock.stages)) {
      for (const out of entry.outs) {
        if (!('hash' in out)) continue;
        const file = path.join(root, out.path);
        if ((await hashPath(file, state))?.hash === out.hash) continue;
        await cache.checkout(file, out.hash, out.isexec === true);
        checkedOut.push(out.path);
      }
    }
    state.save();
    writeLock(paths.lockFile, lock, buildGraph(loadPipeline(root)).order);
    return { id, params: changed.map(([key]) => key), checkedOut, warnings };
  } finally {
    release();
  }
}
