import { existsSync } from 'node:fs';
import path from 'node:path';
import { KdError } from '../errors.js';
import { PARAMS_FILE, PIPELINE_FILE, type PipelineSpec, type StageSpec } from './spec.js';

export interface PipelineGraph {
  /** Stage names in a topological order that keeps pipeline.yaml's order where it can. */
  order: string[];
  stages: Map<string, StageSpec>;
  upstream: Map<string, Set<string>>;
  downstream: Map<string, Set<string>>;
}

/** `a` is `b` or lies inside directory `b` (project-relative posix paths). */
function within(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}/`);
}

/** Deps and outs are resolved against the stage's wdir, then expressed relative to the project root. */
export function stagePath(stage: StageSpec, file: string): string {
  return path.posix.normalize(path.posix.join(stage.wdir, file));
}

function checkInsideProject(stage: StageSpec, field: string, file: string): void {
  if (path.posix.isAbsolute(file) || file === '..' || file.startsWith('../')) {
    throw new KdError(`${PIPELINE_FILE}: stages.${stage.name}.${field}: '${file}' must be a path inside the project`);
  }
}

/** Builds the DAG from outs → deps, rejecting overlapping outs, missing deps and cycles. */
export function buildGraph(spec: PipelineSpec): PipelineGraph {
  const stages = new Map(spec.stages.map((s) => [s.name, s]));
  const outs: { stage: string; path: string }[] = [];
  for (const stage of spec.stages) {
    stage.outs.forEach((out) => {
      const file = stagePath(stage, out.path);
      checkInsideProject(stage, 'outs', file);
      if (within(file, '.kd')) throw new KdError(`${PIPELINE_FILE}: stages.${stage.name}.outs: '${file}' is inside .kd, the engine's own folder`);
      const clash = outs.find((o) => within(file, o.path) || within(o.path, file));
      if (clash) {
        const same = clash.stage === stage.name ? 'twice by this stage' : `also by stage '${clash.stage}' as '${clash.path}'`;
        throw new KdError(`${PIPELINE_FILE}: stages.${stage.name}.outs: output '${file}' is declared ${same}`);
      }
      outs.push({ stage: stage.name, path: file });
    });
  }

  const upstream = new Map(spec.stages.map((s) => [s.name, new Set<string>()]));
  const downstream = new Map(spec.stages.map((s) => [s.name, new Set<string>()]));
  for (const stage of spec.stages) {
    stage.deps.forEach((dep, index) => {
      const file = stagePath(stage, dep);
      checkInsideProject(stage, `deps[${index}]`, file);
      // A dep is produced by a stage whose out is it, contains it, or lies inside it.
      const producers = outs.filter((o) => within(file, o.path) || within(o.path, file));
      if (producers.length === 0 && !existsSync(path.join(spec.root, file))) {
        const key = stage.depKeys?.[index];
        if (key) throw new KdError(`${PARAMS_FILE}: ${key}: '${file}' does not exist (a dep of stage ${stage.name}, from \${${key}} in ${PIPELINE_FILE})`);
        throw new KdError(`${PIPELINE_FILE}: stages.${stage.name}.deps[${index}]: '${file}' does not exist and no stage produces it`);
      }
      for (const producer of producers) {
        upstream.get(stage.name)?.add(producer.stage);
        downstream.get(producer.stage)?.add(stage.name);
      }
    });
  }

  const order = topologicalOrder(spec.stages.map((s) => s.name), upstream);
  return { order, stages, upstream, downstream };
}

function topologicalOrder(names: string[], upstream: Map<string, Set<string>>): string[] {
  const state = new Map<string, 'visiting' | 'done'>();
  const order: string[] = [];
  const trail: string[] = [];
  const visit = (name: string): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      const cycle = [...trail.slice(trail.indexOf(name)), name].reverse();
      throw new KdError(`${PIPELINE_FILE}: the stages form a cycle: ${cycle.join(' → ')}`);
    }
    state.set(name, 'visiting');
    trail.push(name);
    for (const up of upstream.get(name) ?? []) visit(up);
    trail.pop();
    state.set(name, 'done');
    order.push(name);
  };
  names.forEach(visit);
  return order;
}

/** Every stage reachable from `names` following `edges` (excluding the starting stages themselves). */
export function reachable(names: Iterable<string>, edges: Map<string, Set<string>>): Set<string> {
  const seen = new Set<string>();
  const stack = [...names];
  while (stack.length > 0) {
    for (const next of edges.get(stack.pop() as string) ?? []) {
      if (!seen.has(next)) {
        seen.add(next);
        stack.push(next);
      }
    }
  }
  return seen;
}
