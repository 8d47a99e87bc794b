import { request } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeExport, writeUint8Variant } from './export-fixture.js';
import { postJson, serve, tempDir } from './server-harness.js';

const tmp = tempDir('load');
let modelDir: string;

beforeAll(async () => {
  modelDir = await writeExport(path.join(tmp.dir, 'export'), 'fp-load');
});
afterAll(() => tmp.remove());

describe('under load', () => {
  it('answers 503 with Retry-After when the queue is full, and serves the rest', async () => {
    // Texts wait up to 5 ms for company; a queue of 2 texts overflows as soon as 3 requests arrive.
    const server = await serve(modelDir, { maxQueue: 2, maxBatch: 64, batchWaitMs: 5 });
    try {
      const responses = await Promise.all(Array.from({ length: 40 }, (_, i) => postJson(server.url, { text: `good ${i}` })));
      const statuses = responses.map((r) => r.status);
      expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(0);
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
      expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
      const refused = responses.find((r) => r.status === 503)!;
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(await refused.json()).toMatchObject({ error: { code: 'queue_full', message: expect.stringMatching(/queue is full/) } });
      expect((await postJson(server.url, { text: 'good' })).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('finishes the requests in flight on shutdown, then refuses connections', async () => {
    const server = await serve(modelDir);
    // Clients still uploading their bodies when SIGTERM comes: their requests are in flight.
    const uploads = Array.from({ length: 5 }, (_, i) => slowPost(server.url, JSON.stringify({ text: `bad ${i}` })));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closed = server.close();
    for (const upload of uploads) upload.finish();
    const answers = await Promise.all(uploads.map((u) => u.answer));
    await closed;
    expect(answers.map((a) => a.status)).toEqual(Array(5).fill(200));
    expect(answers.map((a) => (JSON.parse(a.body) as { text: string }).text)).toEqual(Array.from({ length: 5 }, (_, i) => `bad ${i}`));
    await expect(postJson(server.url, { text: 'good' })).rejects.toThrow();
  });
});

/** A POST whose body is sent in two parts: the second only when `finish` is called. */
function slowPost(url: string, body: string): { finish: () => void; answer: Promise<{ status: number; body: string }> } {
  const bytes = Buffer.from(body);
  const req = request(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': bytes.length } });
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
  });
  req.write(bytes.subarray(0, 5));
  return { finish: () => req.end(bytes.subarray(5)), answer };
}

describe('a quantized variant', () => {
  it('serves <export>/uint8 with the json files of the export, and almost the same answers', async () => {
    writeUint8Variant(modelDir);
    const full = await serve(modelDir);
    const quantized = await serve(modelDir, { variant: 'uint8' });
    try {
      const texts = ['I love it', 'awful', 'good but bad'];
      const ask = async (url: string) =>
        ((await (await postJson(url, { texts })).json()) as { predictions: { probabilities: Record<string, number> }[] }).predictions;
      const [a, b] = await Promise.all([ask(full.url), ask(quantized.url)]);
      a.forEach((prediction, i) => expect(b[i]!.probabilities.positive).toBeCloseTo(prediction.probabilities.positive!, 1));
      expect(await (await fetch(`${quantized.url}/metadata`)).json()).toMatchObject({ variant: 'uint8' });
      const served = (await (await fetch(`${quantized.url}/model/model.json`)).json()) as { weightsManifest: { weights: { quantization?: unknown }[] }[] };
      expect(served.weightsManifest[0]!.weights[0]!.quantization).toMatchObject({ dtype: 'uint8' });
    } finally {
      await Promise.all([full.close(), quantized.close()]);
    }
  });
});
