import { setTimeout as sleep } from 'node:timers/promises';
import { RemoteError, TransientError } from './store.js';

/** Retries after a transient failure (KD_REMOTE_RETRIES, default 5: waits of 0.25, 0.5, 1, 2, 4 s). */
function retries(): number {
  const n = Number(process.env.KD_REMOTE_RETRIES ?? 5);
  return Number.isInteger(n) && n >= 0 ? n : 5;
}

/**
 * Calls `call` until it succeeds, retrying TransientErrors (connection refused or reset, timeouts,
 * 5xx, throttling) with exponential back-off and jitter; after the last retry the failure becomes a
 * RemoteError that stops the command. Other errors are not retried.
 */
export async function withRetries<T>(call: () => Promise<T>): Promise<T> {
  const limit = retries();
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof TransientError)) throw error;
      if (attempt >= limit) throw new RemoteError(`${error.message} (gave up after ${attempt + 1} attempts; KD_REMOTE_RETRIES sets the number of retries)`);
      await sleep(Math.min(8000, 250 * 2 ** attempt) * (0.75 + Math.random() / 2));
    }
  }
}
