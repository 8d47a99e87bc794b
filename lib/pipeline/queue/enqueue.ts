import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { KdError } from '../../errors.js';
import { newRunId } from '../engine.js';
import { makeKdDir, projectPaths } from '../project.js';
import { DEFAULT_JOBS } from '../remote/open.js';
import { push } from '../remote/sync.js';
import { findProjectRoot, loadPipeline } from '../spec.js';
import { planSweep, sweepName, trackSweep, type SweepOptions, type SweepReport } from '../experiments/sweep.js';
import { SweepProgress } from '../experiments/sweep-progress.js';
import { sweepTrials, writeSweep, type TrialRecord } from '../experiments/store.js';
import { checkRedis, redisOptions, TRIALS_QUEUE } from './connection.js';
import { parseRedisUrl } from './redis-url.js';
import { refreshQueuedSweep, writeQueuedTrial } from './results.js';
import { addSweepFlow } from './sweep-job.js';
import { pushInputs } from './trial-inputs.js';
import { projectIdentity, trialJobId, type TrialJob } from './trial-job.js';

export interface EnqueueOptions extends Omit<SweepOptions, 'jobs'> {
  /** `redis://HOST:PORT/DB`. */
  queue: string;
  /** Follow the trials until every one has ended, printing the local sweep's progress lines. */
  wait: boolean;
}

/**
 * `exp run --queue`: checks the flags and the queue, pushes to the default remote what the trials
 * need that it lacks (the workspace's outputs, the run-cache and the pipeline's inputs), then
 * enqueues the sweep as a BullMQ flow: the sweep's own job, parent of one job per trial whose id is
 * the trial's content (enqueuing the same trial twice adds nothing).
 */
export async function enqueueSweep(options: EnqueueOptions): Promise<SweepReport & { jobs: string[] }> {
  const command = 'exp run --queue';
  const root = findProjectRoot(options.cwd);
  const paths = projectPaths(root);
  const spec = loadPipeline(root);
  const plan = planSweep(root, options);
  const target = parseRedisUrl(options.queue, command);
  const name = sweepName(paths, options.name);
  await checkRedis(target, command);
  let pushed;
  try {
    pushed = await push({ cwd: root, targets: [], jobs: DEFAULT_JOBS, runCache: true });
  } catch (error) {
    if (error instanceof KdError) throw new KdError(`${command}: the workers get what they need through the project's default remote: ${error.message}; nothing was enqueued`);
    throw error;
  }
  if (pushed.failed.length > 0) throw new KdError(`${command}: pushing to '${pushed.remote}' failed (${pushed.failed[0]?.error}); nothing was enqueued`);
  for (const warning of plan.warnings) options.out.write(`kd-pipeline: warning: ${warning}\n`);
  makeKdDir(paths);
  const runId = newRunId();
  const project = await projectIdentity(spec);
  const inputFailure = await pushInputs(root, project);
  if (inputFailure) throw new KdError(`${command}: pushing the pipeline's inputs to '${pushed.remote}' failed (${inputFailure}); nothing was enqueued`);
  const jobs: TrialJob[] = plan.trials.map((trial, i) => ({ sweep: name, index: i + 1, params: trial.params, paramsText: trial.text, project, sweepRunId: runId }));
  const jobIds = jobs.map((job) => trialJobId(project, job.paramsText));
  const createdAt = new Date().toISOString();
  const sweep = { name, runId, createdAt, axes: plan.axes.map((a) => ({ key: a.key, spec: a.spec, values: a.values })), trials: jobs.length, queue: { url: options.queue, jobs: jobIds } };
  writeSweep(paths, sweep);
  for (const job of jobs) writeQueuedTrial(paths, job, createdAt);
  const tracking = await trackSweep(options, root, name, plan.axes, runId);

  const queue = new Queue(TRIALS_QUEUE, { connection: redisOptions(target) });
  queue.on('error', () => undefined);
  try {
    const enqueue = () => addSweepFlow(redisOptions(target), { name, runId }, jobs.map((data, i) => ({ id: jobIds[i] as string, data })));
    await enqueue();
    // A trial already on the queue is not added again; one that never got a result (refused by a
    // worker whose project differed, or out of attempts) is given another chance.
    for (const jobId of new Set(jobIds)) {
      const job = await queue.getJob(jobId);
      if (job && (await job.getState()) === 'failed') await job.retry('failed', { resetAttemptsMade: true });
    }
    options.out.write(`kd-pipeline: sweep ${name}: ${jobs.length} trials on the queue at ${target.display} (pushed ${pushed.pushed} objects to '${pushed.remote}'); start workers with \`kd-pipeline worker ${options.queue}\`\n`);
    if (!options.wait) return { sweep: name, trials: [], warnings: plan.warnings, interrupted: false, jobs: jobIds };
    const trials = await follow(paths, queue, sweep, options, enqueue);
    await tracking.finish(trials.some((t) => t.status === 'failed') ? 'FAILED' : 'FINISHED');
    return { sweep: name, trials, warnings: plan.warnings, interrupted: false, jobs: jobIds };
  } finally {
    await queue.close();
  }
}

/**
 * `--wait`: polls the trials' jobs and prints a line as each starts and ends, until all have ended.
 * Trials the queue lost before they ended (Redis restarted without persistence) are enqueued again.
 */
async function follow(paths: ReturnType<typeof projectPaths>, queue: Queue, sweep: Parameters<typeof refreshQueuedSweep>[2], options: EnqueueOptions, enqueue: () => Promise<void>): Promise<TrialRecord[]> {
  const progress = new SweepProgress(options.out, sweep.trials, options);
  const seen = new Map<string, string>();
  for (;;) {
    const running = new Set(sweepTrials(paths, sweep.name).filter((t) => t.record.status === 'running').map((t) => t.record.id));
    let lost = 0;
    for (const [i, jobId] of sweep.queue.jobs.entries()) if (running.has(`${sweep.name}.${i + 1}`) && !(await queue.getJob(jobId))) lost += 1;
    if (lost > 0) {
      options.out.write(`kd-pipeline: warning: the queue lost ${lost} trial${lost === 1 ? '' : 's'} of sweep ${sweep.name} (Redis restarted without persistence?); enqueued again\n`);
      await enqueue();
    }
    const states = await refreshQueuedSweep(paths, queue, sweep);
    const records = new Map(sweepTrials(paths, sweep.name).map((t) => [t.record.id, t.record]));
    for (const trial of states) {
      const record = records.get(trial.id) as TrialRecord;
      const before = seen.get(trial.id);
      const now = record.status === 'running' ? (trial.state === 'active' ? 'active' : 'waiting') : 'ended';
      if (now === before) continue;
      seen.set(trial.id, now);
      if (now === 'active') progress.started(trial.id, record.params, ` (job ${trial.job})`);
      if (now === 'ended') {
        if (before !== 'active') progress.running += 1;
        progress.ended(record, `the worker's .kd/exp/${sweep.name}/${trial.id.slice(sweep.name.length + 1)}/.kd/trial.log`);
      }
    }
    if (progress.done.length === states.length) return progress.done.sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
    await sleep(1000);
  }
}
