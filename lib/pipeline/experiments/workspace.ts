import { copyFileSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { EMBEDDING_CACHE_DIR } from '../../ml/teacher/embedding-cache.js';
import { stagePath } from '../graph.js';
import { LOCK_FILE, makeKdDir, projectPaths, type ProjectPaths } from '../project.js';
import { PARAMS_FILE, PIPELINE_FILE, type PipelineSpec } from '../spec.js';

/**
 * A trial shares its project's `.kd/` through links (the content cache, the run-cache, claims, the
 * tracking journal, and whatever the stages keep there, e.g. the encoder's embedding cache),
 * except what belongs to one workspace.
 */
// The encoder's embedding cache is made up front too: in a fresh project the first trials would
// otherwise each start their own, and every later trial would encode the test set again.
const ALWAYS_SHARED = ['cache', 'runs', 'claims', 'tracking', path.relative('.kd', EMBEDDING_CACHE_DIR)];
const PER_WORKSPACE = new Set(['exp', 'tmp', 'logs', 'state.json', 'run.lock', 'yaml-memo.json', '.gitignore', 'mlflow']);

/** Never linked into a trial: the engine's own folder, git, and the files each trial has its own of. */
const OWN = new Set(['.kd', '.git', PARAMS_FILE, PIPELINE_FILE, LOCK_FILE]);

/**
 * Links every file and folder of the project into `dir` except the stages' outs (and the folders
 * holding outs, which are made and filled the same way), so a trial reads the project's inputs
 * and writes only its own outputs.
 */
function linkInputs(from: string, to: string, rel: string, outs: string[]): void {
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const child = rel ? `${rel}/${entry.name}` : entry.name;
    if ((!rel && OWN.has(entry.name)) || outs.includes(child)) continue;
    if (outs.some((out) => out.startsWith(`${child}/`))) {
      if (!entry.isDirectory()) continue;
      mkdirSync(path.join(to, entry.name), { recursive: true });
      linkInputs(path.join(from, entry.name), path.join(to, entry.name), child, outs);
    } else symlinkSync(path.join(from, entry.name), path.join(to, entry.name));
  }
}

/**
 * A trial's workspace at `dir`: its own params.yaml (`paramsText`), a copy of pipeline.yaml, the
 * project's inputs linked, and `.kd/` sharing the project's caches. Returns its engine paths.
 */
export function createTrialWorkspace(project: ProjectPaths, spec: PipelineSpec, dir: string, paramsText: string): ProjectPaths {
  mkdirSync(dir, { recursive: true });
  const outs = spec.stages.flatMap((stage) => stage.outs.map((out) => stagePath(stage, out.path)));
  linkInputs(project.root, dir, '', outs);
  copyFileSync(path.join(project.root, PIPELINE_FILE), path.join(dir, PIPELINE_FILE));
  writeFileSync(path.join(dir, PARAMS_FILE), paramsText);
  const paths = projectPaths(dir);
  makeKdDir(paths);
  for (const shared of ALWAYS_SHARED) mkdirSync(path.join(project.kdDir, shared), { recursive: true });
  for (const shared of readdirSync(project.kdDir)) {
    if (!PER_WORKSPACE.has(shared)) symlinkSync(path.join(project.kdDir, shared), path.join(paths.kdDir, shared));
  }
  return paths;
}
