import { readFileSync, renameSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadExport } from '../../lib/serve/model-holder.js';
import type { RunningServer } from '../../lib/serve/server.js';
import { writeExport } from './export-fixture.js';
import { postJson, serve, tempDir } from './server-harness.js';

const tmp = tempDir('reload');
const at = (name: string) => path.join(tmp.dir, name);
const current = at('current');

/** Points the `current` symlink at `target` in one rename, as a deploy or rollback would. */
function pointCurrentAt(target: string): void {
  const link = `${current}.next`;
  symlinkSync(target, link);
  renameSync(link, current);
}

let server: RunningServer & { logs: string[] };

beforeAll(async () => {
  await writeExport(at('a'), 'fp-a');
  await writeExport(at('b'), 'fp-b');
  pointCurrentAt(at('a'));
  server = await serve(current, { batchWaitMs: 1 });
});

afterAll(async () => {
  await server?.close();
  tmp.remove();
});

async function servedFingerprint(): Promise<string> {
  const body = (await (await postJson(server.url, { text: 'good' })).json()) as { model: { fingerprint: string } };
  return body.model.fingerprint;
}

describe('reload', () => {
  it('swaps models under concurrent requests without a failed request', async () => {
    const statuses: number[] = [];
    const seen = new Set<string>();
    let stop = false;
    const client = async () => {
      while (!stop) {
        const response = await postJson(server.url, { texts: ['good', 'bad'] });
        statuses.push(response.status);
        const body = (await response.json()) as { predictions: { label: string }[]; model: { fingerprint: string } };
        expect(body.predictions.map((p) => p.label)).toEqual(['positive', 'negative']);
        seen.add(body.model.fingerprint);
      }
    };
    const clients = Array.from({ length: 8 }, client);
    await new Promise((resolve) => setTimeout(resolve, 100));
    pointCurrentAt(at('b'));
    const result = await server.reload();
    expect(result.ok).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 100));
    stop = true;
    await Promise.all(clients);
    expect(statuses.length).toBeGreaterThan(20);
    expect(statuses.every((status) => status === 200)).toBe(true);
    expect([...seen].sort()).toEqual(['fp-a', 'fp-b']);
    expect(await servedFingerprint()).toBe('fp-b');
  });

  it('refuses a broken export and keeps serving the old model', async () => {
    const broken = await writeExport(at('broken'), 'fp-broken');
    writeFileSync(path.join(broken, 'labels.json'), JSON.stringify(['negative', 'neutral', 'positive']));
    pointCurrentAt(broken);
    const result = await server.reload();
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.message).toMatch(/outputs shape \[null,2\] but labels.json names 3 classes/);
    expect(await servedFingerprint()).toBe('fp-b');
    const health = (await (await fetch(`${server.url}/health`)).json()) as { last_reload_error: { message: string } | null };
    expect(health.last_reload_error?.message).toMatch(/labels.json/);
    expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(/kd_serve_model_reloads_total\{result="refused"\} 1/);
    expect(server.logs.some((line) => /reload refused, still serving kd-student 1 \(fp-b\)/.test(line))).toBe(true);
  });

  it('rolls back by pointing at an earlier export', async () => {
    pointCurrentAt(at('a'));
    expect((await server.reload()).ok).toBe(true);
    expect(await servedFingerprint()).toBe('fp-a');
    const metadata = (await (await fetch(`${server.url}/metadata`)).json()) as { export_dir: string };
    expect(metadata.export_dir).toBe(at('a'));
  });

  it('reloads on its own when the watched export changes on disk', async () => {
    const watched = await serve(current, { watchIntervalMs: 50, watchSettleMs: 100 });
    try {
      await writeExport(at('a'), 'fp-a2');
      const deadline = Date.now() + 10_000;
      let fingerprint = '';
      while (Date.now() < deadline && fingerprint !== 'fp-a2') {
        await new Promise((resolve) => setTimeout(resolve, 50));
        fingerprint = ((await (await postJson(watched.url, { text: 'good' })).json()) as { model: { fingerprint: string } }).model.fingerprint;
      }
      expect(fingerprint).toBe('fp-a2');
    } finally {
      await watched.close();
    }
  });
});

describe('a broken export is refused with a message naming the file', () => {
  it.each([
    ['missing vocab', (dir: string) => rmSync(path.join(dir, 'vocab.json')), /vocab\.json: missing/],
    ['model.json not JSON', (dir: string) => writeFileSync(path.join(dir, 'model.json'), '{"modelTopology": '), /model\.json: not valid JSON/],
    ['truncated weights', (dir: string) => truncateSync(path.join(dir, 'group1-shard1of1.bin'), 8), /model\.json: cannot be loaded/],
    ['vocab without <unk>', (dir: string) => writeFileSync(path.join(dir, 'vocab.json'), '{"<pad>": 0, "good": 1}'), /vocab\.json: .*<unk>/],
    [
      'max_len that does not match the model',
      (dir: string) => writeFileSync(path.join(dir, 'preprocessing.json'), '{"lowercase": true, "strip_accents": false, "max_len": 64}'),
      /model\.json takes input shape \[null,8\] but preprocessing\.json has max_len 64/,
    ],
    ['metadata without fingerprint', (dir: string) => writeFileSync(path.join(dir, 'metadata.json'), '{"name": "x", "version": "1"}'), /metadata\.json: fingerprint/],
    [
      'a weight path leaving the export',
      (dir: string) => {
        const file = path.join(dir, 'model.json');
        writeFileSync(file, readFileSync(file, 'utf8').replace('group1-shard1of1.bin', '../b/group1-shard1of1.bin'));
      },
      /weight path "\.\.\/b\/group1-shard1of1\.bin" must be a file name inside the export/,
    ],
  ] as const)('%s', async (name, breakIt, message) => {
    const dir = await writeExport(at(`broken-${name.replace(/\W+/g, '-')}`), 'fp-x');
    breakIt(dir);
    await expect(loadExport(dir)).rejects.toThrow(message);
  });

  it('a missing export directory says what to run', async () => {
    await expect(loadExport(at('nope'))).rejects.toThrow(/no such export directory \(run `kd-pipeline run`/);
  });
});
