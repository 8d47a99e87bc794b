import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { stagePath } from '../graph.js';
import { hashPath } from '../hashing.js';
import { projectPaths } from '../project.js';
import { PIPELINE_FILE, type PipelineSpec } from '../spec.js';
import { StateStore } from '../state-store.js';
import { trialSchema } from '../experiments/store.js';
import { lockSchema } from '../lock.js';

/**
 * What a trial needs of its project besides params.yaml: pipeline.yaml and the content of every
 * input (a dep no stage produces). A worker whose clone differs in any of them must not run it.
 */
const projectIdentitySchema = z.object({
  pipeline: z.string(),
  /** Each input's content hash and size (null: absent in the enqueuing clone). */
  inputs: z.record(z.string(), z.object({ hash: z.string(), size: z.number().int().nonnegative() }).nullable()),
});
export type ProjectIdentity = z.infer<typeof projectIdentitySchema>;

/** A job's data as the enqueuing clone wrote it; read back from Redis through this schema. */
export const trialJobSchema = z.object({
  sweep: z.string(),
  index: z.number().int().min(1),
  /** The swept values, for progress lines and `exp show`. */
  params: z.record(z.string(), z.unknown()),
  /** The trial's whole params.yaml. */
  paramsText: z.string(),
  project: projectIdentitySchema,
  /** The sweep's tracking run id: the trial's MLflow run nests under it. */
  sweepRunId: z.string(),
});
export type TrialJob = z.infer<typeof trialJobSchema>;

/** What a worker returns for a trial: its record and lock (the enqueuing clone writes both for exp show/apply). */
export const trialResultSchema = z.object({ record: trialSchema, lock: lockSchema });
export type TrialResult = z.infer<typeof trialResultSchema>;

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/** The inputs of a pipeline: deps that are no stage's out, nor inside one, nor a folder holding one. */
export function inputsOf(spec: PipelineSpec): string[] {
  const outs = spec.stages.flatMap((stage) => stage.outs.map((out) => stagePath(stage, out.path)));
  const deps = spec.stages.flatMap((stage) => stage.deps.map((dep) => stagePath(stage, dep)));
  const produced = (dep: string) => outs.some((out) => dep === out || dep.startsWith(`${out}/`) || out.startsWith(`${dep}/`));
  return [...new Set(deps.filter((dep) => !produced(dep)))].sort();
}

export async function projectIdentity(spec: PipelineSpec): Promise<ProjectIdentity> {
  const state = new StateStore(projectPaths(spec.root).state);
  const inputs: ProjectIdentity['inputs'] = {};
  for (const input of inputsOf(spec)) {
    const hashed = await hashPath(path.join(spec.root, input), state);
    inputs[input] = hashed ? { hash: hashed.hash, size: hashed.size } : null;
  }
  return { pipeline: md5(readFileSync(path.join(spec.root, PIPELINE_FILE), 'utf8')), inputs };
}

/** Why a worker's clone cannot run the sweep's trials, or undefined when it is the same project. */
export function projectDifference(sweep: ProjectIdentity, here: ProjectIdentity): string | undefined {
  if (sweep.pipeline !== here.pipeline) return `this worker's ${PIPELINE_FILE} differs from the sweep's`;
  for (const [input, content] of Object.entries(sweep.inputs)) {
    const mine = here.inputs[input];
    if (mine === undefined) return `this worker's ${PIPELINE_FILE} does not use '${input}'`;
    if (mine?.hash !== content?.hash) return mine === null ? `'${input}' is missing in this worker's clone and on the remote` : `this worker's '${input}' differs from the sweep's`;
  }
  return undefined;
}

/** The job id: the trial's content (project and params), so enqueuing the same trial twice adds nothing. */
export function trialJobId(project: ProjectIdentity, paramsText: string): string {
  return `trial-${md5(JSON.stringify({ project, paramsText }))}`;
}
