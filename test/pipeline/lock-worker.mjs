// One racer of run-lock.test.ts's stress test: takes the pid lock `n` times, writing begin/end
// lines around a short critical section; at iteration `dieAt` it exits holding the lock (a stale
// lock for the others to take over, as after kill -9).
import { appendFileSync } from 'node:fs';
import { acquirePidLock } from '../../dist/lib/pipeline/run-lock.js';

const [lock, log, n, dieAt] = process.argv.slice(2);
for (let i = 0; i < Number(n); i += 1) {
  const release = await acquirePidLock(lock, { onBusy: () => undefined, pollMs: 1 });
  appendFileSync(log, `begin ${process.pid}\n`);
  const until = Date.now() + 1;
  while (Date.now() < until);
  appendFileSync(log, `end ${process.pid}\n`);
  if (i === Number(dieAt)) process.exit(0);
  release();
}
