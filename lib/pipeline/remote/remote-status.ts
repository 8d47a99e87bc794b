import { ContentCache } from '../cache.js';
import { buildGraph } from '../graph.js';
import { readLock } from '../lock.js';
import { projectPaths } from '../project.js';
import { findProjectRoot, loadPipeline } from '../spec.js';
import { openRemote } from './open.js';
import { objectKeysOf } from './remote-refs.js';
import { withRetries } from './retry.js';

export interface RemoteStageStatus {
  name: string;
  /** The remote holds every object of the outs the lock names for the stage. */
  inRemote: boolean;
  reasons: string[];
}

export interface RemoteStatus {
  remote: string;
  url: string;
  stages: RemoteStageStatus[];
}

/** `status --remote`: for each stage, whether the remote holds what pipeline.lock names (like `dvc status -c`). */
export async function remoteStatus(cwd: string, name: string | undefined, jobs: number): Promise<RemoteStatus> {
  const root = findProjectRoot(cwd);
  const graph = buildGraph(loadPipeline(root));
  const paths = projectPaths(root);
  const lock = readLock(paths.lockFile);
  const cache = ContentCache.of(paths);
  const { remote, store } = await openRemote(root, name, jobs);
  const outs: { stage: string; path: string; keys: string[] | null }[] = [];
  for (const stage of graph.order) {
    for (const out of lock.stages[stage]?.outs ?? []) {
      if ('hash' in out) outs.push({ stage, path: out.path, keys: await objectKeysOf(out.hash, cache, store) });
    }
  }
  const present = await withRetries(() => store.has(outs.flatMap((out) => out.keys ?? [])));
  const stages = graph.order.map((stage): RemoteStageStatus => {
    if (!lock.stages[stage]) return { name: stage, inRemote: false, reasons: ['not in pipeline.lock (never ran)'] };
    const reasons = outs
      .filter((out) => out.stage === stage)
      .flatMap((out) => {
        if (!out.keys) return [`out '${out.path}' is not on the remote`];
        const lacking = out.keys.filter((key) => !present.has(key)).length;
        if (lacking === 0) return [];
        return [out.keys.length === 1 ? `out '${out.path}' is not on the remote` : `out '${out.path}': ${lacking} of ${out.keys.length} objects are not on the remote`];
      });
    return { name: stage, inRemote: reasons.length === 0, reasons };
  });
  return { remote: remote.name, url: store.url, stages };
}
