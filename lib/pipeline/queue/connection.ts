import type { RedisOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { KdError } from '../../errors.js';
import type { RedisTarget } from './redis-url.js';

/** The queue BullMQ keeps the trials in. */
export const TRIALS_QUEUE = 'kd-trials';
/** The queue of the sweeps' own jobs, each the parent of its trials' jobs. */
export const SWEEPS_QUEUE = 'kd-sweeps';

/** ioredis options for BullMQ: commands wait across reconnects (a Redis restart) instead of failing. */
export function redisOptions(target: RedisTarget): RedisOptions {
  return {
    host: target.host,
    port: target.port,
    db: target.db,
    ...(target.username ? { username: target.username } : {}),
    ...(target.password ? { password: target.password } : {}),
    maxRetriesPerRequest: null,
  };
}

/**
 * One connection attempt, failing fast: a wrong host or port is one message naming them before
 * anything is enqueued or a worker starts (the long-lived connections retry forever instead).
 */
export async function checkRedis(target: RedisTarget, command: string): Promise<void> {
  const probe = new Redis({ ...redisOptions(target), lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 5000 });
  // The socket's own error (ECONNREFUSED, ENOTFOUND, a time-out) says more than the rejection's "Connection is closed".
  let cause: Error | undefined;
  probe.on('error', (error: Error) => (cause ??= error));
  try {
    await probe.connect();
    await probe.ping();
  } catch (error) {
    throw new KdError(`${command}: cannot reach Redis at ${target.host}:${target.port} (${(cause ?? (error as Error)).message})`);
  } finally {
    probe.disconnect();
  }
}

/** A connection for our own keys (claims, results), with the same reconnect behaviour as BullMQ's. */
export function openRedis(target: RedisTarget): Redis {
  const redis = new Redis(redisOptions(target));
  redis.on('error', () => undefined); // ioredis reconnects by itself; commands wait meanwhile
  return redis;
}

/** How long a worker's hold on a trial or stage claim lasts without renewal (BullMQ's lock, our claims). */
export function lockMs(): number {
  const value = Number(process.env.KD_QUEUE_LOCK_MS ?? 30_000);
  return Number.isFinite(value) && value >= 1000 ? value : 30_000;
}
