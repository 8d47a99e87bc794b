import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Queue, type Job } from 'bullmq';
import { KdError } from '../../errors.js';
import { buildGraph } from '../graph.js';
import { writeLock } from '../lock.js';
import type { ProjectPaths } from '../project.js';
import { loadPipeline, PARAMS_FILE, PIPELINE_FILE } from '../spec.js';
import { readSweep, sweepTrials, trialDir, writeTrial, type SweepRecord, type TrialRecord } from '../experiments/store.js';
import { checkRedis, redisOptions, TRIALS_QUEUE } from './connection.js';
import { parseRedisUrl } from './redis-url.js';
import { trialJobSchema, trialResultSchema, type TrialJob } from './trial-job.js';

/** A queued trial as the queue sees it now. */
export interface QueuedTrial {
  id: string;
  job: string;
  /** BullMQ's state, or `missing` when the job was cancelled or removed. */
  state: string;
  /** The worker's progress report (stages done of all). */
  progress: unknown;
  attempts: number;
  error?: string;
}

/** Opens the sweep's queue (failing fast when Redis is unreachable); close it after use. */
export async function openSweepQueue(sweep: SweepRecord & { queue: { url: string } }, command: string): Promise<Queue> {
  const target = parseRedisUrl(sweep.queue.url, `${command}: sweep ${sweep.name}`);
  await checkRedis(target, command);
  const queue = new Queue(TRIALS_QUEUE, { connection: redisOptions(target) });
  queue.on('error', () => undefined);
  return queue;
}

export function queuedSweep(paths: ProjectPaths, name: string, command: string): SweepRecord & { queue: { url: string; jobs: string[] } } {
  const sweep = readSweep(paths, name);
  if (!sweep) throw new KdError(`${command}: no sweep named '${name}' (\`kd-pipeline exp show\` lists them)`);
  if (!sweep.queue) throw new KdError(`${command}: sweep '${name}' ran on this machine, not on a queue`);
  return sweep as SweepRecord & { queue: { url: string; jobs: string[] } };
}

/** The record a trial of this sweep gets from its job: a worker's result, a failure, or still running. */
async function recordOf(sweep: SweepRecord, index: number, job: Job | undefined, stored: TrialRecord | undefined): Promise<{ record: TrialRecord; result?: ReturnType<typeof trialResultSchema.parse> }> {
  const id = `${sweep.name}.${index}`;
  const base: TrialRecord = stored ?? { id, sweep: sweep.name, status: 'running', params: {}, startedAt: sweep.createdAt, seconds: null, stages: {}, metrics: {} };
  if (!job) return { record: { ...base, status: 'failed', error: 'cancelled (the job is no longer on the queue)' } };
  const state = await job.getState();
  if (state === 'failed') return { record: { ...base, status: 'failed', error: job.failedReason } };
  if (state !== 'completed') return { record: { ...base, status: 'running' } };
  const parsed = trialResultSchema.safeParse(job.returnvalue);
  if (!parsed.success) return { record: { ...base, status: 'failed', error: `job ${job.id}: the worker's result is not a trial record` } };
  // The same trial enqueued by another sweep shares the job: the record is renamed to this sweep's trial.
  return { record: { ...parsed.data.record, id, sweep: sweep.name }, result: parsed.data };
}

/**
 * Brings the local records of a queued sweep up to date with the queue: each finished trial's
 * record and lock are written into its folder, so `exp show`, `exp report`, `exp apply` and gc
 * read them like a local trial's.
 */
export async function refreshQueuedSweep(paths: ProjectPaths, queue: Queue, sweep: SweepRecord & { queue: { jobs: string[] } }): Promise<QueuedTrial[]> {
  const stored = new Map(sweepTrials(paths, sweep.name).map((t) => [t.record.id, t.record]));
  const order = buildGraph(loadPipeline(paths.root)).order;
  const states: QueuedTrial[] = [];
  for (const [i, jobId] of sweep.queue.jobs.entries()) {
    const index = i + 1;
    const job = (await queue.getJob(jobId)) ?? undefined;
    const { record, result } = await recordOf(sweep, index, job, stored.get(`${sweep.name}.${index}`));
    const dir = trialDir(paths, sweep.name, index);
    if (result) writeLock(path.join(dir, 'pipeline.lock'), result.lock, order);
    writeTrial(dir, record);
    states.push({
      id: record.id,
      job: jobId,
      state: job ? await job.getState() : 'missing',
      progress: job?.progress ?? null,
      attempts: job?.attemptsMade ?? 0,
      ...(record.error ? { error: record.error } : {}),
    });
  }
  return states;
}

/** Refreshes every queued sweep (or the one named); an unreachable queue leaves the last records and warns. */
export async function refreshQueuedSweeps(paths: ProjectPaths, names: string[], warn: (message: string) => void): Promise<void> {
  for (const name of names) {
    const sweep = readSweep(paths, name);
    if (!sweep?.queue) continue;
    let queue: Queue | undefined;
    try {
      queue = await openSweepQueue(sweep as SweepRecord & { queue: { url: string } }, 'exp show');
      await refreshQueuedSweep(paths, queue, sweep as SweepRecord & { queue: { url: string; jobs: string[] } });
    } catch (error) {
      if (!(error instanceof KdError)) throw error;
      warn(`${error.message}; sweep ${name} shows the trials' last known state`);
    } finally {
      await queue?.close();
    }
  }
}

/** A trial's folder on the enqueuing clone: what exp apply reads (params.yaml, pipeline.yaml) before its result arrives. */
export function writeQueuedTrial(paths: ProjectPaths, job: TrialJob, createdAt: string): void {
  const dir = trialDir(paths, job.sweep, job.index);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, PARAMS_FILE), job.paramsText);
  copyFileSync(path.join(paths.root, PIPELINE_FILE), path.join(dir, PIPELINE_FILE));
  writeTrial(dir, { id: `${job.sweep}.${job.index}`, sweep: job.sweep, status: 'running', params: job.params, startedAt: createdAt, seconds: null, stages: {}, metrics: {} });
}

/** Parses a job's data read back from Redis: a job that is not ours is an error naming it. */
export function trialJobOf(job: Job): TrialJob {
  const parsed = trialJobSchema.safeParse(job.data);
  if (!parsed.success) throw new KdError(`job ${job.id}: not a kd-pipeline trial (${parsed.error.issues[0]?.message ?? 'invalid'})`);
  return parsed.data;
}
