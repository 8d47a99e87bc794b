import { appendFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { KdError } from '../../errors.js';
import { runPipeline, type RunReport } from '../engine.js';
import type { PipelineObserver } from '../events.js';
import { readLock } from '../lock.js';
import type { ProgressOut } from '../progress.js';
import { makeKdDir, projectPaths } from '../project.js';
import { DEFAULT_JOBS, openRemote } from '../remote/open.js';
import { push } from '../remote/sync.js';
import { findProjectRoot, loadPipeline } from '../spec.js';
import { trialDir, type TrialRecord } from '../experiments/store.js';
import { trialOutcome, trialRunOptions } from '../experiments/sweep.js';
import { describeParams } from '../experiments/sweep-progress.js';
import { createTrialWorkspace } from '../experiments/workspace.js';
import { checkRedis, lockMs, openRedis, redisOptions, SWEEPS_QUEUE, TRIALS_QUEUE } from './connection.js';
import { redisClaimer } from './redis-claims.js';
import { sweepFinisher } from './sweep-job.js';
import { parseRedisUrl } from './redis-url.js';
import { trialJobOf } from './results.js';
import { fetchMissingInputs } from './trial-inputs.js';
import { projectDifference, projectIdentity, type TrialResult } from './trial-job.js';

export interface WorkerOptions {
  cwd: string;
  queue: string;
  /** Trials run at once. */
  jobs: number;
  /** Exit once the queue has no trial left (waiting, delayed or running anywhere). */
  once: boolean;
  argv: string[];
  out: ProgressOut;
  observers(root: string, log: ProgressOut): Promise<PipelineObserver[]>;
}

export interface WorkerReport {
  trials: { id: string; job: string; status: 'ok' | 'failed' | 'handed back'; error?: string }[];
  signal?: NodeJS.Signals;
}

/** A trial's stages report to its job's progress: how many of them have ended. */
function progressObserver(job: Job): PipelineObserver {
  let ended = 0;
  return {
    runStarted: () => undefined,
    stageStarted: () => undefined,
    stageFinished: async (info) => {
      ended += 1;
      await job.updateProgress({ stagesEnded: ended, last: `${info.stage}: ${info.result}` }).catch(() => undefined);
    },
    runFinished: () => undefined,
    close: async () => undefined,
  };
}

/**
 * `kd-pipeline worker`: takes trials off the queue and runs each as `exp run` would, in a trial
 * workspace of this clone, with `run --pull` against the default remote; each stage it executes is
 * pushed before its claim (in Redis, shared by every worker) is released, and the trial's lock and
 * metrics go back to the queue as the job's result. Ctrl-C/SIGTERM stops taking trials and hands
 * the running ones back; a worker that dies has its trials taken over once BullMQ's lock lapses.
 * The worker also takes the sweeps' own jobs, each handed out once its last trial has ended, and
 * ends the sweep's MLflow run.
 */
export async function runWorker(options: WorkerOptions): Promise<WorkerReport> {
  const root = findProjectRoot(options.cwd);
  const paths = projectPaths(root);
  const spec = loadPipeline(root);
  const target = parseRedisUrl(options.queue, 'worker');
  await checkRedis(target, 'worker');
  try {
    await openRemote(root, undefined, DEFAULT_JOBS);
  } catch (error) {
    if (error instanceof KdError) throw new KdError(`worker: trials restore and publish through the project's default remote: ${error.message}`);
    throw error;
  }
  let here = await projectIdentity(spec);
  makeKdDir(paths);
  const redis = openRedis(target);
  const ttl = lockMs();
  const claimer = redisClaimer(redis, ttl);
  const stageJobs = Math.max(1, Math.floor(os.availableParallelism() / Math.max(1, options.jobs)));
  const report: WorkerReport = { trials: [] };

  const runTrial = async (job: Job): Promise<TrialResult> => {
    const data = trialJobOf(job);
    const id = `${data.sweep}.${data.index}`;
    const fetched = await fetchMissingInputs(root, data.project, here);
    if (fetched.length > 0) {
      options.out.write(`↓ ${fetched.join(', ')} from the remote (this clone lacked ${fetched.length === 1 ? 'it' : 'them'})\n`);
      here = await projectIdentity(spec);
    }
    const difference = projectDifference(data.project, here);
    if (difference) {
      report.trials.push({ id, job: String(job.id), status: 'failed', error: difference });
      options.out.write(`✖ ${id} not run: ${difference}\n`);
      throw new UnrecoverableError(`not run on ${os.hostname()} (${root}): ${difference}`);
    }
    const dir = trialDir(paths, data.sweep, data.index);
    rmSync(dir, { recursive: true, force: true }); // a trial handed back earlier starts afresh
    const trialPaths = createTrialWorkspace(paths, spec, dir, data.paramsText);
    const logFile = path.join(trialPaths.kdDir, 'trial.log');
    const log: ProgressOut = { write: (text: string) => appendFileSync(logFile, text.replace(/\r\x1b\[K/g, '')) };
    const record: TrialRecord = { id, sweep: data.sweep, status: 'running', params: data.params, startedAt: new Date().toISOString(), seconds: null, stages: {}, metrics: {} };
    options.out.write(`▶ ${id} ${describeParams(data.params)} (job ${job.id}, attempt ${job.attemptsMade + 1})\n`);
    const began = performance.now();
    let runReport: RunReport | undefined;
    try {
      const observers = async (trialRoot: string) => [...(await options.observers(trialRoot, log)), progressObserver(job)];
      const trial = { dir, id, sweep: data.sweep, sweepRunId: data.sweepRunId, jobs: stageJobs, argv: options.argv, log, observers };
      runReport = await runPipeline(trialRunOptions(trial, { pull: true, publish: true, claimer, runTags: { 'kd.worker': os.hostname() } }));
    } catch (error) {
      record.error = error instanceof KdError ? error.message : String((error as Error).stack ?? error);
    }
    if (runReport?.interrupted) {
      report.trials.push({ id, job: String(job.id), status: 'handed back' });
      options.out.write(`↩ ${id} interrupted: handed back to the queue\n`);
      throw new Error(`interrupted on ${os.hostname()} (${runReport.signal ?? 'signal'}); handed back to the queue`);
    }
    Object.assign(record, trialOutcome(runReport, dir, (performance.now() - began) / 1000));
    if (record.status === 'ok') {
      // Outputs restored from this clone's own cache may be missing from the remote: exp apply needs them there.
      const pushed = await push({ cwd: dir, targets: [], jobs: DEFAULT_JOBS, runCache: false }).catch((error: Error) => ({ failed: [{ error: error.message }] }));
      const failure = pushed.failed[0];
      if (failure) Object.assign(record, { status: 'failed', error: `pushing the trial's outputs failed: ${failure.error}` });
    }
    report.trials.push({ id, job: String(job.id), status: record.status === 'ok' ? 'ok' : 'failed', ...(record.error ? { error: record.error } : {}) });
    options.out.write(`${record.status === 'ok' ? '✔' : '✖'} ${id} ${record.status === 'ok' ? `done in ${(record.seconds ?? 0).toFixed(1)} s` : `failed: ${record.error ?? ''}`} (log: ${path.relative(root, logFile)})\n`);
    // A failed trial is a result too (its stage and error): the job completes and the sweep goes on.
    return { record, lock: readLock(path.join(dir, 'pipeline.lock')) };
  };

  const connection = redisOptions(target);
  const trialsQueue = new Queue(TRIALS_QUEUE, { connection });
  trialsQueue.on('error', () => undefined);
  const workers = [
    new Worker(TRIALS_QUEUE, runTrial, { connection, concurrency: Math.max(1, options.jobs), lockDuration: ttl, stalledInterval: ttl, autorun: false }),
    new Worker(SWEEPS_QUEUE, sweepFinisher(root, trialsQueue, options.out), { connection, lockDuration: ttl, stalledInterval: ttl, autorun: false }),
  ];
  for (const worker of workers) worker.on('error', (error) => options.out.write(`kd-pipeline: warning: worker: ${error.message} (reconnecting)\n`));
  let stopping: Promise<void> | undefined;
  const stop = (signal?: NodeJS.Signals) => {
    if (signal && !report.signal) {
      report.signal = signal;
      options.out.write(`kd-pipeline: ${signal}: taking no more trials; running ones are handed back to the queue…\n`);
    }
    stopping ??= Promise.all(workers.map((w) => w.close())).then(() => undefined);
    return stopping;
  };
  const onSignal = (signal: NodeJS.Signals) => void stop(signal);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  options.out.write(`kd-pipeline: worker on ${target.display}, ${options.jobs} trial${options.jobs === 1 ? '' : 's'} at a time${options.once ? ', until the queue is empty' : ''}\n`);
  try {
    const running = Promise.all(workers.map((w) => w.run()));
    if (options.once) {
      // A dead worker's trial counts as active until BullMQ's stalled check puts it back: wait for
      // those too, and for the sweeps' own jobs, which end once their last trial has.
      const sweepsQueue = new Queue(SWEEPS_QUEUE, { connection });
      sweepsQueue.on('error', () => undefined);
      try {
        while (!stopping) {
          await sleep(1000);
          const states = ['wait', 'active', 'delayed', 'prioritized', 'waiting-children'] as const;
          const counts = [await trialsQueue.getJobCounts(...states), await sweepsQueue.getJobCounts(...states)];
          if (counts.every((c) => Object.values(c).every((n) => n === 0))) void stop();
        }
      } finally {
        await sweepsQueue.close();
      }
    }
    await running;
    await stopping;
  } finally {
    await trialsQueue.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    redis.disconnect();
  }
  return report;
}
