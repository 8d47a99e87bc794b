import path from 'node:path';
import { ContentCache } from '../cache.js';
import { hashPath } from '../hashing.js';
import { projectPaths } from '../project.js';
import { RemoteObjects } from '../remote/objects.js';
import { DEFAULT_JOBS, openRemote } from '../remote/open.js';
import { StateStore } from '../state-store.js';
import type { ProjectIdentity } from './trial-job.js';

/**
 * The pipeline's inputs (its data files: deps no stage produces) travel through the remote like
 * outputs, so that a worker's clone need not hold them: the enqueuing clone stores each in its
 * cache and sends what the remote lacks. Returns the first failure, if any.
 */
export async function pushInputs(root: string, project: ProjectIdentity): Promise<string | undefined> {
  const paths = projectPaths(root);
  const cache = ContentCache.of(paths);
  const state = new StateStore(paths.state);
  const { store } = await openRemote(root, undefined, DEFAULT_JOBS);
  const outs = [];
  for (const [input, content] of Object.entries(project.inputs)) {
    if (!content) continue;
    const hashed = await hashPath(path.join(root, input), state);
    // Changed since the identity was taken: the job names the content it was hashed with, so send nothing stale.
    if (hashed?.hash !== content.hash) return `'${input}' changed while the sweep was being enqueued`;
    await cache.save(path.join(root, input), hashed);
    outs.push({ ...content, owner: `input ${input}` });
  }
  const result = await new RemoteObjects(cache, store, { jobs: DEFAULT_JOBS }).sendOuts(outs);
  return result.failed[0]?.error;
}

/**
 * Fetches from the remote, verified, each input of the sweep that this clone lacks, and checks it
 * out; an input this clone holds with other content is left alone (projectDifference refuses the
 * trial). Returns the inputs checked out.
 */
export async function fetchMissingInputs(root: string, sweep: ProjectIdentity, here: ProjectIdentity): Promise<string[]> {
  const missing = Object.entries(sweep.inputs).flatMap(([input, content]) => (content && here.inputs[input] === null ? [{ input, content }] : []));
  if (missing.length === 0) return [];
  const cache = ContentCache.of(projectPaths(root));
  const { store } = await openRemote(root, undefined, DEFAULT_JOBS);
  await new RemoteObjects(cache, store, { jobs: DEFAULT_JOBS }).fetchOuts(missing.map(({ input, content }) => ({ ...content, owner: `input ${input}` })));
  const fetched: string[] = [];
  for (const { input, content } of missing) {
    if (!(await cache.has(content.hash))) continue; // not on the remote either: projectDifference names it
    await cache.checkout(path.join(root, input), content.hash);
    fetched.push(input);
  }
  return fetched;
}
