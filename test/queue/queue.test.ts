import { afterAll, beforeAll, expect } from 'vitest';
import { distillProject, expectedAccuracy } from '../pipeline/experiment-project.js';
import { exited, removeProjects, until, type Project } from '../pipeline/harness.js';
import { needs } from '../prerequisites.js';
import { startMoto, type MotoServer } from '../remote/moto.js';
import { cloneOf } from '../remote/projects.js';
import { redisMissing, startRedis, type RedisServer } from './redis.js';

const guarded = needs(redisMissing(), 'install Debian\'s redis-server (`apt-get install -y redis-server`; `node scripts/test-env.mjs` does it as root)');

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

const worker = (p: Project, ...args: string[]) => p.spawn(['worker', redis.url, '--once', '--json', ...args]);

guarded.describe('queued sweeps: exp run --queue and workers in other clones', () => {
  guarded.it('two workers in two clones run every trial of a sweep enqueued from a third, each upstream stage once; exp show and exp apply work there', async () => {
    const [home, a, b] = await projectWithClones(2);
    const enqueued = await home.kd(['exp', 'run', '-S', 'student.temperature=2,4', '--queue', redis.url, '--name', 'q', '--json']);
    expect(enqueued.code, enqueued.stderr).toBe(0);
    expect(enqueued.json.jobs).toHaveLength(2);
    const again = await home.kd(['exp', 'run', '-S', 'student.temperature=2,4', '--queue', redis.url, '--name', 'q-again', '--json']);
    expect(again.json.jobs).toEqual(enqueued.json.jobs); // the same trials: the same jobs, nothing added

    const workers = [worker(a as Project), worker(b as Project)];
    const codes = await Promise.all(workers.map(exited));
    expect(codes, workers.map((w) => w.output()).join('\n---\n')).toEqual([0, 0]);
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
});
