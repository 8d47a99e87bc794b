import { DelayedError, FlowProducer, Queue, type Job, type RedisOptions } from 'bullmq';
import { z } from 'zod';
import { KdError } from '../../errors.js';
import { endRunElsewhere } from '../../tracking/end-run.js';
import type { ProgressOut } from '../progress.js';
import { SWEEPS_QUEUE, TRIALS_QUEUE } from './connection.js';
import { trialResultSchema, type TrialJob } from './trial-job.js';

/** Attempts per trial: a worker stopped by Ctrl-C, or one that died (a stalled job), hands its trial back. */
const ATTEMPTS = 3;
/** How often a finished sweep looks again at trials it shares with another sweep that are still running. */
const SHARED_RECHECK_MS = 5000;

/** The sweep's own job, the parent of its trials' jobs: BullMQ hands it to a worker once every trial has ended. */
const sweepJobSchema = z.object({
  sweep: z.string(),
  /** The sweep's tracking run id: the worker that finishes the sweep ends its MLflow run. */
  runId: z.string(),
  trials: z.array(z.string()),
  /**
   * Trials already on the queue as another sweep's, still pending there: a BullMQ job has one
   * parent, so these are waited for instead of being children.
   */
  shared: z.array(z.string()),
});

const sweepJobId = (runId: string) => `sweep-${runId}`;

export interface QueuedTrialJob {
  id: string;
  data: TrialJob;
}

/**
 * Enqueues a sweep as one BullMQ flow: the sweep's job, with each trial's job (id: the trial's
 * content) as a child. A trial already on the queue is not added again: a finished one counts as
 * done for this sweep too, a failed one is given another chance by the caller. Adding the same
 * sweep again adds only what the queue lost.
 */
export async function addSweepFlow(connection: RedisOptions, sweep: { name: string; runId: string }, trials: QueuedTrialJob[]): Promise<void> {
  const queue = new Queue(TRIALS_QUEUE, { connection });
  queue.on('error', () => undefined);
  const sweeps = new Queue(SWEEPS_QUEUE, { connection });
  sweeps.on('error', () => undefined);
  const flow = new FlowProducer({ connection });
  flow.on('error', () => undefined);
  try {
    const unique = [...new Map(trials.map((t) => [t.id, t])).values()];
    const shared: string[] = [];
    for (const trial of unique) {
      const job = await queue.getJob(trial.id);
      // parentKey is `<prefix>:kd-sweeps:<sweep job id>`; a sweep's job is removed once it has ended.
      const parent = job?.parentKey?.slice(job.parentKey.lastIndexOf(':') + 1);
      if (parent && parent !== sweepJobId(sweep.runId) && (await sweeps.getJob(parent))) shared.push(trial.id);
    }
    await flow.add({
      name: `sweep ${sweep.name}`,
      queueName: SWEEPS_QUEUE,
      data: { sweep: sweep.name, runId: sweep.runId, trials: trials.map((t) => t.id), shared } satisfies z.infer<typeof sweepJobSchema>,
      opts: { jobId: sweepJobId(sweep.runId), attempts: ATTEMPTS, removeOnComplete: true },
      children: unique
        .filter((t) => !shared.includes(t.id))
        .map((t) => ({
          name: `${t.data.sweep}.${t.data.index}`,
          queueName: TRIALS_QUEUE,
          data: t.data,
          // A trial that fails for good (out of attempts, or refused by a worker) does not hold the sweep up.
          opts: { jobId: t.id, attempts: ATTEMPTS, removeOnComplete: false, removeOnFail: false, ignoreDependencyOnFailure: true },
        })),
    });
  } finally {
    await Promise.all([queue.close(), sweeps.close(), flow.close()]);
  }
}

/** How a sweep ended, as its job's result. */
export interface SweepOutcome {
  trials: number;
  failed: number;
  cancelled: number;
  status: 'FINISHED' | 'FAILED' | 'KILLED';
}

/**
 * The worker's processor for a sweep's job: counts how its trials ended and ends the sweep's
 * MLflow run (the enqueuing clone started it; without `--wait` nothing else would end it).
 */
export function sweepFinisher(root: string, trialsQueue: Queue, out: ProgressOut) {
  return async (job: Job, token?: string): Promise<SweepOutcome> => {
    const parsed = sweepJobSchema.safeParse(job.data);
    if (!parsed.success) throw new KdError(`job ${job.id}: not a kd-pipeline sweep (${parsed.error.issues[0]?.message ?? 'invalid'})`);
    const data = parsed.data;
    const shared = await Promise.all(data.shared.map(async (id) => ({ job: await trialsQueue.getJob(id), state: await trialsQueue.getJobState(id) })));
    if (shared.some(({ state }) => state !== 'completed' && state !== 'failed' && state !== 'unknown')) {
      await job.moveToDelayed(Date.now() + SHARED_RECHECK_MS, token);
      throw new DelayedError();
    }
    const results = [...Object.values(await job.getChildrenValues()), ...shared.filter((s) => s.state === 'completed').map((s) => s.job?.returnvalue)];
    const refused = Object.keys(await job.getIgnoredChildrenFailures()).length + shared.filter((s) => s.state === 'failed').length;
    const unique = new Set(data.trials).size;
    const outcome: SweepOutcome = {
      trials: unique,
      failed: results.filter((value) => trialResultSchema.safeParse(value).data?.record.status !== 'ok').length + refused,
      cancelled: unique - results.length - refused,
      status: 'FINISHED',
    };
    outcome.status = outcome.cancelled > 0 ? 'KILLED' : outcome.failed > 0 ? 'FAILED' : 'FINISHED';
    const tracked = await endRunElsewhere(root, data.runId, outcome.status);
    out.write(`■ sweep ${data.sweep}: ${outcome.trials} trial${outcome.trials === 1 ? '' : 's'} ended (${outcome.failed} failed${outcome.cancelled ? `, ${outcome.cancelled} cancelled` : ''}); ${tracked}\n`);
    return outcome;
  };
}
