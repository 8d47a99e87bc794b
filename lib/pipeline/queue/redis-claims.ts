import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { FingerprintClaimer } from '../run-lock.js';

// Renew or delete the claim only while it still holds our token: a claim that lapsed and was
// taken by another worker is never extended or released by us. One that is gone altogether (Redis
// restarted without persistence) is set again, so no other worker takes the running stage.
const RENEW = `local held = redis.call('get', KEYS[1])
if held == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
if not held then return redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') end
return 0`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

const claimKey = (fingerprint: string) => `kd:claim:${fingerprint}`;

/**
 * Claims on stage fingerprints shared by every worker of a queue: `SET key token NX PX ttl`,
 * renewed at a third of the ttl while the stage runs, released by its owner only. A worker that
 * dies stops renewing, so its claim lapses and another worker takes the stage over.
 */
export function redisClaimer(redis: Redis, ttlMs: number): FingerprintClaimer {
  return async (fingerprint, signal, onWait) => {
    const key = claimKey(fingerprint);
    const token = `${process.pid}-${randomBytes(8).toString('hex')}`;
    let first = true;
    while ((await redis.set(key, token, 'PX', ttlMs, 'NX')) !== 'OK') {
      if (first) onWait();
      first = false;
      await sleep(Math.min(500, ttlMs / 4), undefined, { signal });
    }
    const renewal = setInterval(() => void redis.eval(RENEW, 1, key, token, String(ttlMs)).catch(() => undefined), ttlMs / 3);
    return () => {
      clearInterval(renewal);
      void redis.eval(RELEASE, 1, key, token).catch(() => undefined);
    };
  };
}
