import { KdError } from '../../errors.js';
import { projectPaths } from '../project.js';
import { listSweeps, trialDir, writeTrial, sweepTrials } from '../experiments/store.js';
import { openSweepQueue, queuedSweep, refreshQueuedSweep, type QueuedTrial } from './results.js';

export interface QueueStatus {
  sweep: string;
  queue: string;
  trials: QueuedTrial[];
}

/** `exp queue status [SWEEP]`: every queued sweep's trials as the queue sees them (records refreshed on the way). */
export async function queueStatus(root: string, name: string | undefined): Promise<QueueStatus[]> {
  const command = 'exp queue status';
  const paths = projectPaths(root);
  const sweeps = name !== undefined ? [queuedSweep(paths, name, command)] : listSweeps(paths).flatMap((s) => (s.queue ? [queuedSweep(paths, s.name, command)] : []));
  const out: QueueStatus[] = [];
  for (const sweep of sweeps) {
    const queue = await openSweepQueue(sweep, command);
    try {
      out.push({ sweep: sweep.name, queue: sweep.queue.url, trials: await refreshQueuedSweep(paths, queue, sweep) });
    } finally {
      await queue.close();
    }
  }
  return out;
}

/**
 * `exp queue cancel SWEEP`: removes the sweep's jobs that no worker holds; a running trial is left
 * to finish (BullMQ refuses to remove a locked job), and is reported.
 */
export async function cancelSweep(root: string, name: string): Promise<{ cancelled: string[]; running: string[] }> {
  const command = 'exp queue cancel';
  const paths = projectPaths(root);
  const sweep = queuedSweep(paths, name, command);
  const queue = await openSweepQueue(sweep, command);
  const cancelled: string[] = [];
  const running: string[] = [];
  try {
    for (const [i, jobId] of sweep.queue.jobs.entries()) {
      const id = `${sweep.name}.${i + 1}`;
      const job = await queue.getJob(jobId);
      const state = job ? await job.getState() : 'missing';
      if (state === 'active') running.push(id);
      else if (job && state !== 'completed' && state !== 'failed') {
        await job.remove();
        cancelled.push(id);
      }
    }
  } catch (error) {
    throw new KdError(`${command}: ${(error as Error).message}`);
  } finally {
    await queue.close();
  }
  const records = new Map(sweepTrials(paths, sweep.name).map((t) => [t.record.id, t]));
  for (const id of cancelled) {
    const stored = records.get(id);
    if (stored) writeTrial(trialDir(paths, sweep.name, Number(id.slice(sweep.name.length + 1))), { ...stored.record, status: 'failed', error: 'cancelled' });
  }
  return { cancelled, running };
}
