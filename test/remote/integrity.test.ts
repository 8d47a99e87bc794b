import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyOf, lockedHash, md5 } from '../pipeline/corruption.js';
import { removeProjects, type Project } from '../pipeline/harness.js';
import { startMoto, type MotoServer } from './moto.js';
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
/** A producer that has run and pushed to a fresh bucket (its default remote `origin`, under `kd/`). */
async function pushed(): Promise<{ a: Project; bucket: string }> {
  const a = producer();
  const bucket = `kd-integrity-${process.pid}-${(buckets += 1)}`;
  await moto.createBucket(bucket);
  a.env = { ...moto.env };
  expect((await a.kd(['remote', 'add', 'origin', `s3://${bucket}/kd`])).code).toBe(0);
  expect((await a.run()).code).toBe(0);
  expect((await a.kd(['push'])).code).toBe(0);
  return { a, bucket };
}

async function remoteMd5(bucket: string, key: string): Promise<string> {
  const answer = await moto.client.send(new GetObjectCommand({ Bucket: bucket, Key: `kd/${key}` }));
  return md5(Buffer.from(await (answer.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()));
}

const tamper = (bucket: string, key: string) => moto.client.send(new PutObjectCommand({ Bucket: bucket, Key: `kd/${key}`, Body: 'tampered\n' }));

describe('a corrupt object on an S3 remote (moto server on loopback)', { timeout: 240_000 }, () => {
  it('pull names it with its stage and path and stores nothing corrupt; the clone that then computes the good object pushes it over the bad one', async () => {
    const { a, bucket } = await pushed();
    const model = lockedHash(a, 'train', 'model.txt');
    await tamper(bucket, keyOf(model));

    const b = cloneOf(a);
    const pull = await b.kd(['pull', '--json']);
    expect(pull.code).toBe(1);
    expect(pull.json.failed).toEqual([{ key: keyOf(model), reason: 'corrupt', error: expect.stringMatching(new RegExp(`^${keyOf(model)} in s3://${bucket}/kd is corrupted: .*\\(stage train: model\\.txt\\)$`)) }]);
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
    expect(clean.json).toMatchObject({ store: `s3://${bucket}/kd`, remote: 'origin', objects: 8, runs: 2, problems: [] });

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
