import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, expect } from 'vitest';
import { freePort } from '../../lib/tracking/local-server.js';
import { distillProject, expectedAccuracy } from '../pipeline/experiment-project.js';
import { exited, removeProjects, until, type Project } from '../pipeline/harness.js';
import { needs } from '../prerequisites.js';
import { flakyProxy } from '../remote/flaky-proxy.js';
import { startMoto, type MotoServer } from '../remote/moto.js';
import { cloneOf } from '../remote/projects.js';
import { tagOf, useMlflowServer } from '../tracking/helpers.js';
import { redisMissing, startRedis, type RedisServer } from './redis.js';

const guarded = needs(redisMissing(), 'install Debian\'s redis-server (`apt-get install -y redis-server`; `node scripts/test-env.mjs` does it as root)');

const mlflow = useMlflowServer();
let moto: MotoServer;
let redis: RedisServer;
let bucket = 0;

beforeAll(async () => {
  if (redisMissing()) return;
  [moto, redis] = await Promise.all([startMoto(), startRedis()]);
}, 90_000);

afterAll(async () => {
  await Promise.all([moto?.stop(), redis?.stop()]);
  removeProjects();
});

/** A project with its own bucket as default remote, and `n` clones of it (each with its own .kd/). */
async function projectWithClones(n: number, options: Parameters<typeof distillProject>[0] = {}): Promise<[Project, ...Project[]]> {
  const source = distillProject(options);
  source.env = { ...moto.env, KD_QUEUE_LOCK_MS: '2000' };
  bucket += 1;
  await moto.createBucket(`queue-${bucket}`);
  expect((await source.kd(['remote', 'add', 'origin', `s3://queue-${bucket}/cache`])).code).toBe(0);
  const clones = Array.from({ length: n }, () => {
    const clone = cloneOf(source);
    clone.write('ran.log', '');
    return clone;
  });
  return [source, ...clones];
}

let db = 0;
/** A database of its own per test, so that one test's leftover trials never reach another's workers. */
const freshQueue = () => `redis://127.0.0.1:${redis.port}/${++db}`;
const worker = (p: Project, queue: string) => p.spawn(['worker', queue, '--once', '--json']);
/** A queued trial's log in a worker's clone, or '' before the trial starts there. */
const readTrialLog = (p: Project, sweep: string, n: number) => (p.exists(`.kd/exp/${sweep}/${n}/.kd/trial.log`) ? p.read(`.kd/exp/${sweep}/${n}/.kd/trial.log`) : '');

guarded.describe('queued sweeps: exp run --queue and workers in other clones', () => {
  guarded.it('two workers in two clones run every trial of a sweep enqueued from a third, each upstream stage once; exp show and exp apply work there', async () => {
    const [home, a, b] = await projectWithClones(2);
    const queue = freshQueue();
    const waiting = home.spawn(['exp', 'run', '-S', 'student.temperature=2,4', '--queue', queue, '--name', 'q', '--wait', '--json']);
    await until(() => waiting.output().includes('2 trials on the queue'), 'the sweep to be enqueued');
    const workers = [worker(a as Project, queue), worker(b as Project, queue)];
    const codes = await Promise.all(workers.map(exited));
    expect(codes, workers.map((w) => w.output()).join('\n---\n')).toEqual([0, 0]);
    expect(await exited(waiting), waiting.output()).toBe(0);
    expect(waiting.output()).toMatch(/✔ q\.1 done in .* · \d done/);
    expect(waiting.output()).toMatch(/"experiments":\[\{"id":"q\.1","sweep":"q","status":"ok"/);
    const jobs = (await home.kd(['exp', 'queue', 'status', 'q', '--json'])).json.sweeps[0].trials.map((t: { job: string }) => t.job);
    const again = await home.kd(['exp', 'run', '-S', 'student.temperature=2,4', '--queue', queue, '--name', 'q-again', '--json']);
    expect(again.json.jobs).toEqual(jobs); // the same trials: the same jobs, nothing added
    expect((await home.kd(['exp', 'queue', 'status', 'q-again', '--json'])).json.sweeps[0].trials.map((t: { state: string }) => t.state)).toEqual(['completed', 'completed']);
    const ran = (stage: string) => (a as Project).runs(stage) + (b as Project).runs(stage);
    expect(ran('teacher')).toBe(1);
    expect(ran('student')).toBe(2);

    const shown = await home.kd(['exp', 'show', 'q', '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    const trials = shown.json.experiments.filter((row: { id: string }) => row.id !== 'workspace');
    expect(trials.map((t: { id: string; status: string }) => [t.id, t.status])).toEqual([['q.1', 'ok'], ['q.2', 'ok']]);
    expect(trials.map((t: { metrics: Record<string, number> }) => t.metrics['student.accuracy'])).toEqual([expectedAccuracy(2, 0.5), expectedAccuracy(4, 0.5)]);

    const applied = await home.kd(['exp', 'apply', 'q.2']);
    expect(applied.code, applied.stderr).toBe(0);
    expect((await home.kd(['status', '--check'])).code).toBe(0);
    expect(home.read('student.txt')).toBe('data\n');
  }, 90_000);

  guarded.it('a stage a worker restores from its own clone\'s run-cache reaches the remote before its claim is released', async () => {
    const [home, a, b] = await projectWithClones(2, { studentCmd: 'sleep 3' });
    // Clone a has run the teacher before, so its trial restores it locally; the remote has never seen it.
    expect((await (a as Project).kd(['run', 'teacher'])).code).toBe(0);
    const queue = freshQueue();
    expect((await home.kd(['exp', 'run', '-S', 'student.temperature=2,4', '--queue', queue, '--name', 'r'])).code).toBe(0);
    const first = worker(a as Project, queue);
    // b starts once a's trial has passed the teacher (its student sleeps 3 s): the teacher must be on the remote by then.
    await until(() => [1, 2].some((n) => /student/.test(readTrialLog(a as Project, 'r', n))), 'a\'s trial to reach its student stage');
    const second = worker(b as Project, queue);
    expect(await Promise.all([first, second].map(exited)), `${first.output()}\n---\n${second.output()}`).toEqual([0, 0]);
    expect((a as Project).runs('teacher')).toBe(1); // its own local run, before the sweep
    expect((b as Project).runs('teacher')).toBe(0);
  }, 60_000);

  guarded.it('a worker stopped by SIGTERM hands its trial back; one SIGKILLed has it completed by another worker, and the remote holds only sound objects', async () => {
    const [home, a, b] = await projectWithClones(2, { studentCmd: 'sleep 3' });
    const queue = freshQueue();
    expect((await home.kd(['exp', 'run', '-S', 'student.temperature=3', '--queue', queue, '--name', 'k'])).code).toBe(0);
    const log = '.kd/exp/k/1/.kd/trial.log';
    const inStudent = () => (a as Project).exists(log) && (a as Project).read(log).includes('student');
    const stopped = worker(a as Project, queue);
    await until(inStudent, 'the first worker to start the student stage', 30_000);
    stopped.kill('SIGTERM');
    expect(await exited(stopped), stopped.output()).toBe(143);
    expect(stopped.output()).toContain('k.1 interrupted: handed back to the queue');
    const back = await home.kd(['exp', 'queue', 'status', 'k', '--json']);
    expect(back.json.sweeps[0].trials[0]).toMatchObject({ state: 'waiting', attempts: 1 });

    (a as Project).remove('.kd/exp/k');
    const doomed = worker(a as Project, queue);
    await until(inStudent, 'the worker to start the student stage again', 30_000);
    doomed.kill('SIGKILL');
    await exited(doomed);
    const rescuer = worker(b as Project, queue);
    expect(await exited(rescuer), rescuer.output()).toBe(0);
    expect(JSON.parse(rescuer.output().split('\n').find((line) => line.startsWith('{')) ?? '{}').trials).toEqual([{ id: 'k.1', job: expect.any(String), status: 'ok' }]);
    expect((a as Project).runs('teacher')).toBe(1);
    expect((b as Project).runs('teacher')).toBe(0); // restored from what the first worker pushed
    expect((b as Project).runs('student')).toBe(1);
    const shown = await home.kd(['exp', 'show', 'k', '--json']);
    expect(shown.json.experiments.find((row: { id: string }) => row.id === 'k.1').status).toBe('ok');
    const verified = await home.kd(['cache', 'verify', '--remote', '--json']);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    expect(verified.json.problems).toEqual([]);
  }, 90_000);

  guarded.it('refuses an unreachable or malformed queue and a project without a remote, enqueuing nothing', async () => {
    const [home] = await projectWithClones(0);
    const port = await freePort(); // nothing listens there
    const unreachable = await home.kd(['exp', 'run', '-S', 'student.temperature=2,4', '--queue', `redis://127.0.0.1:${port}/0`]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain(`cannot reach Redis at 127.0.0.1:${port}`);
    const malformed = await home.kd(['exp', 'run', '-S', 'student.temperature=2,4', '--queue', 'http://127.0.0.1:6379']);
    expect(malformed.stderr).toContain('only redis:// URLs are supported');
    const noRemote = distillProject();
    const queue = freshQueue();
    const refused = await noRemote.kd(['exp', 'run', '-S', 'student.temperature=2,4', '--queue', queue]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('no remote configured');
    for (const p of [home, noRemote]) expect((await p.kd(['exp', 'show', '--json'])).json.experiments.map((row: { id: string }) => row.id)).toEqual(['workspace']);
    const jobs = new Queue('kd-trials', { connection: { host: '127.0.0.1', port: redis.port, db } });
    expect(Object.values(await jobs.getJobCounts()).every((n) => n === 0)).toBe(true);
    await jobs.close();
  }, 30_000);

  guarded.it('exp queue cancel removes the trials no worker has started; the sweep\'s job then ends the sweep KILLED', async () => {
    const [home, a] = await projectWithClones(1);
    const queue = freshQueue();
    expect((await home.kd(['exp', 'run', '-S', 'student.temperature=2,4', '--queue', queue, '--name', 'c'])).code).toBe(0);
    const cancelled = await home.kd(['exp', 'queue', 'cancel', 'c', '--json']);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(cancelled.json).toEqual({ cancelled: ['c.1', 'c.2'], running: [] });
    const shown = await home.kd(['exp', 'show', 'c', '--json']);
    expect(shown.json.experiments.filter((row: { id: string }) => row.id !== 'workspace').map((row: { status: string }) => row.status)).toEqual(['failed', 'failed']);
    const idle = worker(a as Project, queue);
    expect(await exited(idle), idle.output()).toBe(0);
    expect(idle.output()).toContain('■ sweep c: 2 trials ended (0 failed, 2 cancelled); no MLflow server configured here');
    expect((a as Project).runs('teacher')).toBe(0);
  }, 60_000);

  guarded.it('a trial fails with its reason on a worker whose project differs, and a failing stage is recorded while the sweep goes on', async () => {
    const [home, same, other] = await projectWithClones(2, { studentCmd: 'test ${student.temperature} != 4' });
    (other as Project).write('in.txt', 'other data\n');
    const queue = freshQueue();
    expect((await home.kd(['exp', 'run', '-S', 'student.temperature=2,4', '--queue', queue, '--name', 'f'])).code).toBe(0);
    const wrong = worker(other as Project, queue);
    expect(await exited(wrong)).toBe(0);
    expect((other as Project).runs('teacher')).toBe(0);
    let shown = await home.kd(['exp', 'show', 'f', '--json']);
    expect(shown.json.experiments.filter((row: { id: string }) => row.id !== 'workspace').map((row: { status: string }) => row.status)).toEqual(['failed', 'failed']);
    const status = await home.kd(['exp', 'queue', 'status', 'f', '--json']);
    expect(status.json.sweeps[0].trials[0].error).toContain("this worker's 'in.txt' differs from the sweep's");
    expect(wrong.output()).toContain('■ sweep f: 2 trials ended (2 failed); no MLflow server configured here');

    // Enqueued again, the refused trials get another chance; the worker with the same project runs
    // them, fetching from the remote the input its clone lacks.
    expect((await home.kd(['exp', 'run', '-S', 'student.temperature=2,4', '--queue', queue, '--name', 'g'])).code).toBe(0);
    (same as Project).remove('in.txt');
    const right = worker(same as Project, queue);
    expect(await exited(right), right.output()).toBe(0);
    expect(right.output()).toContain('in.txt from the remote');
    expect((same as Project).read('in.txt')).toBe(home.read('in.txt'));
    shown = await home.kd(['exp', 'show', 'g', '--json']);
    const [ok, failed] = shown.json.experiments.filter((row: { id: string }) => row.id !== 'workspace');
    expect([ok.id, ok.status, failed.id, failed.status]).toEqual(['g.1', 'ok', 'g.2', 'failed']);
    expect(failed.stages.student).toBe('failed');
    const records = await home.kd(['exp', 'queue', 'status', 'g', '--json']);
    expect(records.json.sweeps[0].trials.map((t: { state: string }) => t.state)).toEqual(['completed', 'completed']);
    expect(home.read('.kd/exp/g/2/.kd/trial.json')).toContain("stage 'student' failed");
  }, 60_000);

  guarded.it('Redis restarted mid-sweep: with persistence each trial completes once; without it the waiting enqueuer puts the lost trials back and no stage runs twice', async () => {
    const [home, a] = await projectWithClones(1, { studentCmd: 'sleep 2' });
    // A restart shorter than the job lock: no running trial looks stalled to BullMQ.
    for (const p of [home, a as Project]) p.env.KD_QUEUE_LOCK_MS = '15000';
    const aof = mkdtempSync(path.join(os.tmpdir(), 'kd-redis-aof-'));
    const restartMidTrial = async (sweep: string, temperatures: string, keep: boolean) => {
      const own = await startRedis(undefined, keep ? aof : undefined);
      const queue = `redis://127.0.0.1:${own.port}/0`;
      const waiting = home.spawn(['exp', 'run', '-S', `student.temperature=${temperatures}`, '--queue', queue, '--name', sweep, '--wait']);
      await until(() => waiting.output().includes('2 trials on the queue'), 'the sweep to be enqueued');
      // Without --once: a worker that saw the queue empty after a lossy restart would leave.
      const lasting = (a as Project).spawn(['worker', queue, '--json']);
      try {
        await until(() => [1, 2].some((n) => readTrialLog(a as Project, sweep, n).includes('student')), 'a trial to reach its student stage', 30_000);
        await own.stop();
        await new Promise((r) => setTimeout(r, 500));
        const restarted = await startRedis(own.port, keep ? aof : undefined);
        expect(await exited(waiting), waiting.output()).toBe(0);
        expect(waiting.output()).toMatch(new RegExp(`✔ ${sweep}\\.1 done[\\s\\S]*✔ ${sweep}\\.2 done|✔ ${sweep}\\.2 done[\\s\\S]*✔ ${sweep}\\.1 done`));
        lasting.kill('SIGINT');
        expect(await exited(lasting), lasting.output()).toBe(130);
        await restarted.stop();
        return { waiting: waiting.output(), worker: lasting.output() };
      } finally {
        lasting.kill('SIGKILL');
        await own.stop();
      }
    };

    const kept = await restartMidTrial('p', '2,4', true);
    expect(kept.waiting).not.toContain('the queue lost');
    expect(kept.worker.match(/^✔ p\.\d done/gm)).toHaveLength(2); // each trial completed once
    expect((a as Project).runs('teacher')).toBe(1);
    expect((a as Project).runs('student')).toBe(2);

    const lost = await restartMidTrial('l', '5,6', false);
    expect(lost.waiting).toContain('the queue lost 2 trials of sweep l (Redis restarted without persistence?); enqueued again');
    expect((a as Project).runs('teacher')).toBe(1);
    expect((a as Project).runs('student')).toBe(4); // the interrupted trial's student stage, run once, is restored on the trial's second run
  }, 120_000);

  guarded.it('the remote unreachable for a while: a short outage is retried through, a long one fails the trial with the endpoint and the reason', async () => {
    const [home, a] = await projectWithClones(1);
    const proxy = await flakyProxy(moto.endpoint, 'GET', 0);
    (a as Project).env = { ...(a as Project).env, AWS_ENDPOINT_URL: proxy.endpoint, KD_REMOTE_RETRIES: '4' }; // waits of 0.25, 0.5, 1 and 2 s
    const queue = freshQueue();
    const lasting = (a as Project).spawn(['worker', queue]);
    try {
      await until(() => lasting.output().includes('kd-pipeline: worker on'), 'the worker to start');
      proxy.outage(true);
      expect((await home.kd(['exp', 'run', '-S', 'student.temperature=3', '--queue', queue, '--name', 'short'])).code).toBe(0);
      await until(() => lasting.output().includes('▶ short.1'), 'the worker to take the trial');
      await new Promise((r) => setTimeout(r, 1000));
      proxy.outage(false);
      await until(() => /[✔✖] short\.1/.test(lasting.output()), 'the trial to end', 30_000);
      expect(lasting.output()).toMatch(/✔ short\.1 done/);

      proxy.outage(true);
      expect((await home.kd(['exp', 'run', '-S', 'student.temperature=5', '--queue', queue, '--name', 'long'])).code).toBe(0);
      await until(() => /[✔✖] long\.1/.test(lasting.output()), 'the trial to end', 30_000);
      const failure = lasting.output().split('\n').find((line) => line.startsWith('✖ long.1')) ?? '';
      expect(failure).toContain(proxy.endpoint.replace('http://', ''));
      expect(failure).toContain('gave up after 5 attempts');
      const status = await home.kd(['exp', 'queue', 'status', 'long', '--json']);
      expect(status.json.sweeps[0].trials[0]).toMatchObject({ state: 'completed', error: expect.stringContaining('gave up after 5 attempts') });
      lasting.kill('SIGINT');
      expect(await exited(lasting)).toBe(130);
    } finally {
      lasting.kill('SIGKILL');
      await proxy.close();
    }

    const cut = cloneOf(home);
    cut.env = { ...cut.env, AWS_ENDPOINT_URL: `http://127.0.0.1:${await freePort()}`, KD_REMOTE_RETRIES: '1' };
    const refused = await cut.kd(['worker', redis.url, '--once']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/worker: trials restore and publish through the project's default remote: .*127\.0\.0\.1/);
  }, 90_000);

  guarded.it('a sweep enqueued without --wait: each trial run nests under the sweep\'s MLflow run, which the worker that ends the sweep finishes', async () => {
    const [home, a, b] = await projectWithClones(2, { tracking: mlflow.server.uri });
    const queue = freshQueue();
    expect((await home.kd(['exp', 'run', '-S', 'student.temperature=2,4', '--queue', queue, '--name', 'm'])).code).toBe(0);
    const experiment = await mlflow.client.getOrCreateExperiment('sweep-test');
    const sweepRun = async () => (await mlflow.client.searchRuns(experiment, "tags.`kd.sweep` = 'm'")).find((r) => tagOf(r, 'kd.trial') === undefined);
    expect((await sweepRun())?.info.status).toBe('RUNNING');
    const workers = [worker(a as Project, queue), worker(b as Project, queue)];
    expect(await Promise.all(workers.map(exited)), workers.map((w) => w.output()).join('\n---\n')).toEqual([0, 0]);
    expect(workers.map((w) => w.output()).join('\n')).toContain('■ sweep m: 2 trials ended (0 failed); its MLflow run is FINISHED');
    const parent = await sweepRun();
    expect(parent?.info.status).toBe('FINISHED');
    const trials = (await mlflow.client.searchRuns(experiment, "tags.`kd.sweep` = 'm'")).filter((r) => tagOf(r, 'kd.trial') !== undefined);
    expect(trials.map((r) => tagOf(r, 'kd.trial')).sort()).toEqual(['m.1', 'm.2']);
    for (const trial of trials) {
      expect(tagOf(trial, 'mlflow.parentRunId')).toBe(parent?.info.run_id);
      expect(tagOf(trial, 'kd.worker')).toBe(os.hostname());
      const temperature = tagOf(trial, 'kd.trial') === 'm.1' ? 2 : 4;
      // One key per metric: the trial's run and its student stage's run log the same key and value.
      const [student] = (await mlflow.client.searchRuns(experiment, `tags.\`mlflow.parentRunId\` = '${trial.info.run_id}'`)).filter((r) => tagOf(r, 'kd.stage') === 'student');
      for (const run of [trial, student]) {
        const [accuracy] = await mlflow.client.getMetricHistory(run!.info.run_id, 'student.accuracy');
        expect(accuracy?.value).toBeCloseTo(expectedAccuracy(temperature, 0.5), 10);
      }
    }
  }, 90_000);
});
