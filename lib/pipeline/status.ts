import { checkStage } from './changes.js';
import { buildGraph, type PipelineGraph } from './graph.js';
import { readLock } from './lock.js';
import { projectPaths } from './project.js';
import { findProjectRoot, loadPipeline, type PipelineSpec } from './spec.js';
import { StateStore } from './state-store.js';

export interface StageStatus {
  name: string;
  upToDate: boolean;
  reasons: string[];
}

export interface ProjectStatus {
  root: string;
  spec: PipelineSpec;
  graph: PipelineGraph;
  stages: StageStatus[];
}

/**
 * Every stage compared with the lock, as `dvc status` does: a stage is up to date when its cmd,
 * deps and declared params match the lock and its outs have the recorded hashes. Frozen stages
 * are reported up to date. Reads no data file whose size, mtime and inode are unchanged.
 */
export async function projectStatus(cwd: string): Promise<ProjectStatus> {
  const root = findProjectRoot(cwd);
  const spec = loadPipeline(root);
  const graph = buildGraph(spec);
  const paths = projectPaths(root);
  const lock = readLock(paths.lockFile);
  const state = new StateStore(paths.state);
  const stages: StageStatus[] = [];
  for (const name of graph.order) {
    const stage = graph.stages.get(name);
    if (!stage) continue;
    if (stage.frozen) {
      stages.push({ name, upToDate: true, reasons: ['frozen'] });
      continue;
    }
    const check = await checkStage(stage, spec, lock.stages[name], state);
    stages.push({ name, upToDate: check.upToDate, reasons: check.reasons });
  }
  state.save();
  return { root, spec, graph, stages };
}

export interface PlannedStage {
  name: string;
  wouldRun: boolean;
  reasons: string[];
}

/** `run --dry-run`: what would run, assuming every stage that runs changes its outputs. */
export function planRun(status: ProjectStatus, selected: Set<string>, force: boolean): PlannedStage[] {
  const wouldRun = new Set<string>();
  const plan: PlannedStage[] = [];
  for (const stage of status.stages) {
    if (!selected.has(stage.name)) continue;
    const frozen = status.graph.stages.get(stage.name)?.frozen === true;
    const reasons = force && !frozen ? ['forced'] : [...(stage.upToDate ? [] : stage.reasons)];
    if (!frozen) {
      for (const up of status.graph.upstream.get(stage.name) ?? []) if (wouldRun.has(up)) reasons.push(`upstream '${up}' would run`);
    }
    if (reasons.length > 0) wouldRun.add(stage.name);
    plan.push({ name: stage.name, wouldRun: reasons.length > 0, reasons });
  }
  return plan;
}
