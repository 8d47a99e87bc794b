import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exited, removeProjects, until, type Project } from '../pipeline/harness.js';
import { flakyProxy } from './flaky-proxy.js';
import { startMoto, type MotoServer } from './moto.js';
import { keyOf, lockedHash, md5 } from '../pipeline/corruption.js';
import { cacheObjects, cloneOf, corruptObjects, producer } from './projects.js';

let moto: MotoServer;
beforeAll(async () => {
  moto = await startMoto();
});
afterAll(async () => {
  await moto?.stop();
  removeProjects();
});

let buckets = 0;
/** A new bucket, and `p` set up to use it as its default remote `origin`. */
async function withBucket(p: Project, prefix = 'kd/cache'): Promise<string> {
  const bucket = `kd-test-${process.pid}-${(buckets += 1)}`;
  await moto.createBucket(bucket);
  p.env = { ...moto.env };
  const added = await p.kd(['remote', 'add', 'origin', `s3://${bucket}/${prefix}`]);
  expect(added.code, added.stderr).toBe(0);
  return bucket;
}

async function keys(bucket: string): Promise<string[]> {
  const page = await moto.client.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (page.Contents ?? []).map((item) => item.Key as string).sort();
}

/** A producer that has run and pushed to a fresh bucket. */
async function pushed(files = 3): Promise<{ a: Project; bucket: string; objects: number }> {
  const a = producer(files);
  const bucket = await withBucket(a);
  expect((await a.run()).code).toBe(0);
  const push = await a.kd(['push', '--json']);
  expect(push.code, push.stderr).toBe(0);
  return { a, bucket, objects: push.json.pushed };
}

// Each test drives the CLI a dozen times against a Python server: seconds on a quiet machine, minutes on a crowded one.
describe('remote cache on S3 (moto server on loopback)', { timeout: 240_000 }, () => {
  it('run and push in A; in a fresh clone B, run --pull restores every stage and runs none, and status --check passes', async () => {
    const a = producer();
    const bucket = await withBucket(a);
    expect((await a.run()).results).toEqual({ prepare: 'ran', train: 'ran' });
    expect((await a.kd(['status', '--remote', '--json'])).json.stages).toEqual([
      { name: 'prepare', inRemote: false, reasons: ["out 'data': 5 of 5 objects are not on the remote"] },
      { name: 'train', inRemote: false, reasons: ["out 'model.txt' is not on the remote", "out 'run.sh' is not on the remote", "out 'metrics.json' is not on the remote"] },
    ]);
    // data/ = 3 parts + big.bin + its manifest; model.txt, run.sh, metrics.json; then 2 run-cache entries.
    const push = await a.kd(['push', '--json']);
    expect(push.code, push.stderr).toBe(0);
    expect(push.json).toEqual({ pushed: 10, skipped: 0, bytes: expect.any(Number) });
    expect(push.json.bytes).toBeGreaterThan(256_000);
    expect(await keys(bucket)).toHaveLength(10);
    expect((await keys(bucket)).every((key) => key.startsWith('kd/cache/cache/') || key.startsWith('kd/cache/runs/'))).toBe(true);
    expect((await a.kd(['push', '--json'])).json).toEqual({ pushed: 0, skipped: 10, bytes: 0 });
    expect((await a.kd(['status', '--remote', '--check'])).code).toBe(0);

    const b = cloneOf(a);
    expect((await b.kd(['status', '--remote', '--json'])).json.stages.every((s: { inRemote: boolean }) => s.inRemote)).toBe(true);
    const run = await b.kd(['run', '--pull', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json.stages.map((s: { name: string; result: string }) => [s.name, s.result])).toEqual([
      ['prepare', 'restored'],
      ['train', 'restored'],
    ]);
    expect(b.exists('ran.log')).toBe(false);
    expect(b.read('model.txt')).toBe(a.read('model.txt'));
    expect(b.read('data/sub/big.bin')).toBe(a.read('data/sub/big.bin'));
    expect(execFileSync('./run.sh', { cwd: b.dir, encoding: 'utf8' })).toBe('hi\n');
    expect((await b.kd(['status', '--check'])).code).toBe(0);
    expect(b.read('pipeline.lock')).toBe(a.read('pipeline.lock'));
    expect(corruptObjects(b)).toEqual([]);
  });

  it('run --pull restores from the remote run-cache when the lock does not match (params changed back and forth elsewhere)', async () => {
    const { a } = await pushed();
    expect((await a.run('--set', 'scale=2')).results).toEqual({ prepare: 'skipped', train: 'ran' });
    expect((await a.kd(['push', '--json'])).code).toBe(0);
    // B has the lock of scale=2 but wants scale=1 again: only the run-cache knows that run.
    const b = cloneOf(a);
    b.write('params.yaml', b.read('params.yaml').replace('scale: 2', 'scale: 1'));
    const run = await b.kd(['run', '--pull', '--json']);
    expect(run.json.stages.map((s: { result: string }) => s.result)).toEqual(['restored', 'restored']);
    expect(b.read('model.txt')).toContain('scale=1');
    expect(b.exists('ran.log')).toBe(false);
    expect(b.lock().stages.train.params['params.yaml'].scale).toBe(1);
  });

  it('push of one stage; run --pull in a clone restores it and runs, without warnings, the stage nobody pushed', async () => {
    const a = producer();
    await withBucket(a);
    expect((await a.run()).code).toBe(0);
    expect((await a.kd(['push', 'prepare', '--json'])).json).toEqual({ pushed: 6, skipped: 0, bytes: expect.any(Number) });
    const status = await a.kd(['status', '--remote', '--check']);
    expect(status.code).toBe(1);
    expect(status.stdout).toContain("prepare: on the remote\ntrain: missing\n    out 'model.txt' is not on the remote");
    const b = cloneOf(a);
    const run = await b.kd(['run', '--pull', '--json']);
    expect(run.json.stages.map((s: { result: string }) => s.result)).toEqual(['restored', 'ran']);
    expect(run.stderr).not.toContain('warning: train');
    expect(b.read('ran.log')).toBe('train\n');
  });

  it('pull fetches the lock\'s objects and run-cache entries, checks out missing outs and never replaces an edited one', async () => {
    const { a } = await pushed();
    const b = cloneOf(a);
    b.write('model.txt', 'my own edit\n');
    const pull = await b.kd(['pull', '--json']);
    expect(pull.code, pull.stderr).toBe(0);
    expect(pull.json).toEqual({ pulled: 10, skipped: 0, bytes: expect.any(Number), failed: [] });
    expect(b.read('.kd/.gitignore')).toBe('*\n');
    expect(b.read('model.txt')).toBe('my own edit\n');
    expect(b.read('data/part-1.txt')).toBe('row 1 hello remote\n');
    expect(b.files().filter((f) => f.startsWith('.kd/runs/'))).toHaveLength(2);
    expect((await b.kd(['pull', '--json'])).json).toMatchObject({ pulled: 0, skipped: 10 });
    // Only one stage, without the run-cache.
    const c = cloneOf(a);
    expect((await c.kd(['pull', 'train', '--no-run-cache', '--json'])).json).toMatchObject({ pulled: 3, failed: [] });
    expect(c.exists('data')).toBe(false);
    expect(c.exists('model.txt')).toBe(true);
  });

  it('a corrupted remote object is detected by its hash, never enters the local cache and is reported with its key; run --pull runs that stage instead', async () => {
    const { a, bucket } = await pushed();
    const model = a.lock().stages.train.outs.find((o: { path: string }) => o.path === 'model.txt').hash as string;
    const key = `cache/${model.slice(0, 2)}/${model.slice(2)}`;
    await moto.client.send(new PutObjectCommand({ Bucket: bucket, Key: `kd/cache/${key}`, Body: 'tampered\n' }));

    const b = cloneOf(a);
    const lockBefore = b.read('pipeline.lock');
    const pull = await b.kd(['pull', '--json']);
    expect(pull.code).toBe(1);
    expect(pull.json.failed).toEqual([{ key, reason: 'corrupt', error: expect.stringContaining(`${key} in s3://${bucket}/kd/cache is corrupted`) }]);
    expect(pull.stderr).toContain(`kd-pipeline: error: pull: ${key} in s3://${bucket}/kd/cache is corrupted`);
    // The 7 good objects and prepare's run-cache entry; not train's, whose object is bad.
    expect(pull.json.pulled).toBe(8);
    expect(cacheObjects(b)).not.toContain(`${model.slice(0, 2)}/${model.slice(2)}`);
    expect(corruptObjects(b)).toEqual([]);
    expect(b.exists('model.txt')).toBe(false);
    expect(b.read('pipeline.lock')).toBe(lockBefore);

    const c = cloneOf(a);
    const run = await c.kd(['run', '--pull', '--json']);
    expect(run.code).toBe(0);
    expect(run.json.stages.map((s: { result: string }) => s.result)).toEqual(['restored', 'ran']);
    expect(run.stderr).toContain(`warning: train: ${key} in s3://${bucket}/kd/cache is corrupted`);
    expect(c.read('model.txt')).toBe(a.read('model.txt'));
  });

  it('two machines pushing the same outputs at once both succeed and leave a remote a third one pulls whole', async () => {
    const a1 = producer(40);
    const bucket = await withBucket(a1);
    const a2 = cloneOf(a1);
    a2.write('pipeline.yaml', a1.read('pipeline.yaml'));
    expect((await a1.run()).code).toBe(0);
    expect((await a2.run()).code).toBe(0);
    const pushes = [a1.spawn(['push', '--json', '--jobs', '4']), a2.spawn(['push', '--json', '--jobs', '4'])];
    expect(await Promise.all(pushes.map(exited))).toEqual([0, 0]);
    const counts = pushes.map((p) => JSON.parse(p.output().split('\n').find((l) => l.startsWith('{')) as string));
    // Every object went up at least once; both agree there are 45 objects and 2 run-cache entries.
    for (const c of counts) expect(c.pushed + c.skipped).toBe(40 + 1 + 1 + 3 + 2);
    expect(await keys(bucket)).toHaveLength(47);
    const b = cloneOf(a1);
    const pull = await b.kd(['pull', '--json']);
    expect(pull.json).toMatchObject({ pulled: 47, failed: [] });
    expect((await b.kd(['status', '--check'])).code).toBe(0);
  });

  it('an interrupted pull (the process killed) resumes where it stopped, with no partial object left behind', async () => {
    const { a, objects } = await pushed(300);
    const b = cloneOf(a);
    const first = b.spawn(['pull', '--jobs', '1']);
    await until(() => cacheObjects(b).length >= 40, 'part of the pull to arrive', 30_000);
    first.kill('SIGKILL');
    await exited(first);
    const arrived = cacheObjects(b).length;
    expect(arrived).toBeLessThan(objects - 2);
    expect(corruptObjects(b)).toEqual([]);
    const resumed = await b.kd(['pull', '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.json.skipped).toBeGreaterThanOrEqual(arrived);
    expect(resumed.json.pulled + resumed.json.skipped).toBe(objects);
    expect(corruptObjects(b)).toEqual([]);
    expect((await b.kd(['status', '--check'])).code).toBe(0);
  });

  it('network loss mid-transfer is retried with back-off: cut uploads and cut downloads still complete', async () => {
    const a = producer(8, 2048);
    await withBucket(a);
    expect((await a.run()).code).toBe(0);
    const up = await flakyProxy(moto.endpoint, 'PUT', 3);
    a.env = { ...a.env, AWS_ENDPOINT_URL: up.endpoint };
    const push = await a.kd(['push', '--json', '--jobs', '2']);
    await up.close();
    expect(push.code, push.stderr).toBe(0);
    expect(up.cut()).toBe(3);
    expect(push.json.pushed).toBe(15);

    const down = await flakyProxy(moto.endpoint, 'GET', 2);
    const b = cloneOf(a);
    b.env = { ...b.env, AWS_ENDPOINT_URL: down.endpoint };
    const pull = await b.kd(['pull', '--json', '--jobs', '2']);
    await down.close();
    expect(pull.code, pull.stderr).toBe(0);
    expect(down.cut()).toBe(2);
    expect(pull.json).toMatchObject({ pulled: 15, failed: [] });
    expect(corruptObjects(b)).toEqual([]);
    expect(b.read('data/sub/big.bin').length).toBe(2_048_000);
  });

  it('gc --remote reports what the lock no longer needs, deletes it only with --force, and keeps what it needs', async () => {
    const { a, bucket } = await pushed();
    expect((await a.run('--set', 'n=4')).results).toEqual({ prepare: 'ran', train: 'ran' });
    expect((await a.kd(['push', '--json'])).code).toBe(0);
    const before = await keys(bucket);
    const dry = await a.kd(['gc', '--remote', '--json']);
    // The old data/ manifest and model.txt (the parts, big.bin, run.sh and metrics.json did not change); the old runs of both stages.
    expect(dry.json).toMatchObject({ removedObjects: 2, removedBytes: expect.any(Number), keptObjects: 9, removedRuns: 2, dryRun: true });
    expect(dry.json.removed).toHaveLength(2);
    expect(dry.json.kept.every((item: { by: string }) => item.by.startsWith('pipeline.lock: '))).toBe(true);
    expect(await keys(bucket)).toEqual(before);
    const forced = await a.kd(['gc', '--remote', '--force', '--json']);
    expect(forced.json).toMatchObject({ removedObjects: 2, removedRuns: 2, dryRun: false });
    expect(await keys(bucket)).toHaveLength(before.length - 4);
    expect((await a.kd(['status', '--remote', '--check'])).code).toBe(0);
    const b = cloneOf(a);
    expect((await b.kd(['run', '--pull', '--json'])).json.stages.map((s: { result: string }) => s.result)).toEqual(['restored', 'restored']);
  });

  it('shows progress (objects, bytes, rate) on a terminal only', async () => {
    const a = producer(20);
    await withBucket(a);
    expect((await a.run()).code).toBe(0);
    const env = Object.entries({ ...a.env, MLFLOW_TRACKING_URI: '' }).map(([k, v]) => `${k}=${v}`);
    const onTty = execFileSync('script', ['-qec', `env ${env.join(' ')} node ${process.cwd()}/bin/kd-pipeline.js push --jobs 1`, '/dev/null'], { cwd: a.dir, encoding: 'utf8' });
    expect(onTty).toMatch(/↑ push to origin: \d+\/\d+ objects · [\d.]+ k?B\/[\d.]+ kB · [\d.]+ k?B\/s/);
    expect(onTty).toContain('pushed 27 objects');
    const b = cloneOf(a);
    const piped = await b.kd(['pull']);
    expect(piped.stderr).not.toContain('objects ·');
    expect(piped.stdout).toMatch(/^pulled 27 objects \([\d.]+ kB\) from 'origin' \(s3:\/\/.+\); 0 were already here; checked out 4 outputs$/m);
  });
});

describe('S3 faults: a clear error, the local cache and lock untouched', { timeout: 240_000 }, () => {
  async function untouched(p: Project, args: string[], env: Record<string, string>): Promise<string> {
    // What the engine may write anyway (.gitignore, parse memo, state, journal) is not the cache nor the lock.
    const files = () => p.files().filter((f) => !/^\.kd\/(\.gitignore|yaml-memo\.json|state\.json|tracking\/)/.test(f)).sort();
    const before = files();
    const lock = p.read('pipeline.lock');
    p.env = { ...p.env, ...env, KD_REMOTE_RETRIES: '1' };
    const r = await p.kd(args);
    expect(r.code).toBe(1);
    expect(files()).toEqual(before);
    expect(p.read('pipeline.lock')).toBe(lock);
    return r.stderr;
  }

  it('wrong credentials, a missing bucket, an unreachable endpoint', async () => {
    const { a } = await pushed();
    const b = cloneOf(a);
    const guarded = await startMoto({ auth: true });
    try {
      for (const args of [['pull'], ['push'], ['run', '--pull'], ['status', '--remote'], ['gc', '--remote']]) {
        const stderr = await untouched(b, args, { AWS_ENDPOINT_URL: guarded.endpoint });
        expect(stderr).toContain(`(endpoint ${guarded.endpoint}) refused the credentials (InvalidAccessKeyId`);
      }
    } finally {
      await guarded.stop();
    }
    b.env = { ...moto.env };
    expect((await b.kd(['remote', 'add', 'gone', 's3://no-such-bucket/x'])).code).toBe(0);
    expect(await untouched(b, ['pull', '--remote', 'gone'], {})).toContain(`kd-pipeline: error: the bucket 'no-such-bucket' does not exist at ${moto.endpoint}`);
    const closed = `http://127.0.0.1:${(await import('../../lib/tracking/local-server.js').then((m) => m.freePort()))}`;
    expect(await untouched(b, ['pull'], { AWS_ENDPOINT_URL: closed })).toMatch(/ECONNREFUSED.*\(gave up after 2 attempts; KD_REMOTE_RETRIES sets the number of retries\)/);
    expect(await untouched(b, ['run', '--pull'], { AWS_ENDPOINT_URL: closed })).toContain('gave up after 2 attempts');
    const noCredentials = { ...moto.env, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' };
    b.env = {};
    expect(await untouched(b, ['pull'], noCredentials)).toContain('no AWS credentials for s3://');
  });

  it('multipart uploads above the threshold: parts verified by Content-MD5, the object whole', async () => {
    const { S3Store } = await import('../../lib/pipeline/remote/s3-store.js');
    const bucket = `kd-test-${process.pid}-multipart`;
    await moto.createBucket(bucket);
    Object.assign(process.env, moto.env);
    const store = await S3Store.open({ bucket, prefix: 'p' }, { pathStyle: false, jobs: 2, multipartAbove: 6 * 1024 ** 2, partBytes: 5 * 1024 ** 2 });
    const data = randomBytes(12 * 1024 ** 2);
    await store.put('cache/ab/cdef', async () => data, data.length);
    const answer = await moto.client.send(new GetObjectCommand({ Bucket: bucket, Key: 'p/cache/ab/cdef' }));
    expect(Buffer.from(await (answer.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()).equals(data)).toBe(true);
    expect(answer.ETag).toMatch(/-3"$/);
  });
});

async function remoteMd5(bucket: string, key: string): Promise<string> {
  const answer = await moto.client.send(new GetObjectCommand({ Bucket: bucket, Key: `kd/cache/${key}` }));
  return md5(Buffer.from(await (answer.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()));
}

const tamper = (bucket: string, key: string) => moto.client.send(new PutObjectCommand({ Bucket: bucket, Key: `kd/cache/${key}`, Body: 'tampered\n' }));

describe('a corrupt object on the S3 remote', { timeout: 240_000 }, () => {
  it('pull names it with its stage and path and stores nothing corrupt; the clone that then computes the good object pushes it over the bad one', async () => {
    const { a, bucket } = await pushed();
    const model = lockedHash(a, 'train', 'model.txt');
    await tamper(bucket, keyOf(model));

    const b = cloneOf(a);
    const pull = await b.kd(['pull', '--json']);
    expect(pull.code).toBe(1);
    expect(pull.json.failed).toEqual([{ key: keyOf(model), reason: 'corrupt', error: expect.stringMatching(new RegExp(`^${keyOf(model)} in s3://${bucket}/kd/cache is corrupted: .*\\(stage train: model\\.txt\\)$`)) }]);
    expect(cacheObjects(b)).not.toContain(keyOf(model).slice('cache/'.length));
    expect(corruptObjects(b)).toEqual([]);
    expect(b.exists('model.txt')).toBe(false);

    // B computes model.txt itself (same bytes); its push replaces the remote's bad copy although the remote "has" the key.
    expect((await b.run()).results).toEqual({ prepare: 'skipped', train: 'ran' });
    const push = await b.kd(['push', '--json']);
    expect(push.code, push.stderr).toBe(0);
    expect(push.json.pushed).toBeGreaterThanOrEqual(1);
    expect(await remoteMd5(bucket, keyOf(model))).toBe(model);
    // The next push has nothing left to replace.
    expect((await b.kd(['push', '--json'])).json.pushed).toBe(0);

    const c = cloneOf(a);
    const clean = await c.kd(['pull', '--json']);
    expect(clean.code, clean.stderr).toBe(0);
    expect(c.read('model.txt')).toBe(a.read('model.txt'));
  });

  it('cache verify --remote finds it (exit 1) and the next push replaces it; with --repair it is deleted and the next push uploads it again', async () => {
    const { a, bucket } = await pushed();
    const model = lockedHash(a, 'train', 'model.txt');
    const clean = await a.kd(['cache', 'verify', '--remote', '--json']);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.json).toMatchObject({ store: `s3://${bucket}/kd/cache`, remote: 'origin', objects: 8, runs: 2, problems: [] });

    await tamper(bucket, keyOf(model));
    const found = await a.kd(['cache', 'verify', '--remote', 'origin', '--json']);
    expect(found.code).toBe(1);
    expect(found.json.problems).toEqual([
      { key: keyOf(model), kind: 'corrupt', error: `${keyOf(model)}: its content hashes to ${md5('tampered\n')}, not ${model}` },
      { key: expect.stringMatching(/^runs\//), kind: 'dangling', error: expect.stringContaining(keyOf(model)) },
    ]);
    expect((await a.kd(['push', '--json'])).json).toMatchObject({ pushed: 1 });
    expect(await remoteMd5(bucket, keyOf(model))).toBe(model);
    expect((await a.kd(['cache', 'verify', '--remote'])).code).toBe(0);

    await tamper(bucket, keyOf(model));
    const repair = await a.kd(['cache', 'verify', '--remote', '--repair', '--json']);
    expect(repair.code, repair.stderr).toBe(0);
    expect(repair.json.repaired).toEqual([expect.stringMatching(/^runs\//), keyOf(model)]);
    expect((await a.kd(['status', '--remote', '--check'])).code).toBe(1);
    expect((await a.kd(['push', '--json'])).json).toMatchObject({ pushed: 2 });
    expect((await a.kd(['cache', 'verify', '--remote', '--json'])).json).toMatchObject({ objects: 8, runs: 2, problems: [] });
  });
});
