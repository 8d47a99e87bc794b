import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../lib/serve/server.js';
import { writeExport } from './export-fixture.js';
import { postJson, serve, tempDir } from './server-harness.js';

let server: RunningServer;
const tmp = tempDir('api');

beforeAll(async () => {
  const modelDir = await writeExport(path.join(tmp.dir, 'export'), 'fp-a');
  server = await serve(modelDir, { maxTextChars: 100, maxBatchTexts: 4, maxBodyBytes: 2048 });
});

afterAll(async () => {
  await server?.close();
  tmp.remove();
});

async function expectError(response: Response, status: number, code: string, message: RegExp): Promise<void> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await response.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message).toMatch(message);
}

describe('POST /predict', () => {
  it('classifies one text and names the model', async () => {
    const response = await postJson(server.url, { text: 'I love this movie, great!' });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ text: 'I love this movie, great!', label: 'positive', model: { name: 'kd-student', version: '1', fingerprint: 'fp-a' } });
    const probabilities = body.probabilities as Record<string, number>;
    expect(Object.keys(probabilities).sort()).toEqual(['negative', 'positive']);
    expect(probabilities.positive! + probabilities.negative!).toBeCloseTo(1, 5);
    expect(probabilities.positive!).toBeGreaterThan(0.9);
  });

  it('classifies a batch in order, Unicode included', async () => {
    const texts = ['awful, I hate it', 'so good', 'Schön!'];
    const response = await postJson(server.url, { texts });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { predictions: { text: string; label: string }[]; model: { fingerprint: string } };
    expect(body.predictions.map((p) => [p.text, p.label])).toEqual([
      ['awful, I hate it', 'negative'],
      ['so good', 'positive'],
      ['Schön!', 'positive'],
    ]);
    expect(body.model.fingerprint).toBe('fp-a');
  });

  it('answers concurrent callers each with their own prediction', async () => {
    const texts = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? `good ${i}` : `bad ${i}`));
    const bodies = await Promise.all(texts.map(async (text) => (await postJson(server.url, { text })).json() as Promise<{ text: string; label: string }>));
    expect(bodies.map((b) => b.text)).toEqual(texts);
    expect(bodies.map((b) => b.label)).toEqual(texts.map((_, i) => (i % 2 === 0 ? 'positive' : 'negative')));
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    // 40 concurrent requests were gathered into model calls of more than one text.
    const sum = Number(/kd_serve_batch_size_sum (\d+)/.exec(metrics)?.[1]);
    const count = Number(/kd_serve_batch_size_count (\d+)/.exec(metrics)?.[1]);
    expect(count).toBeLessThan(sum);
  });
});

describe('bad input gets a clear 4xx', () => {
  it.each([
    ['malformed JSON', '{"text": "good"', 400, 'invalid_json', /not valid JSON/],
    ['an empty body', '', 400, 'invalid_json', /empty/],
    ['a JSON array', '["good"]', 400, 'invalid_request', /expected a JSON object/],
    ['a number as text', { text: 42 }, 400, 'invalid_request', /body: text: .*string/],
    ['empty text', { text: '' }, 400, 'invalid_request', /body: text: must not be empty/],
    ['blank text', { text: '   ' }, 400, 'invalid_request', /body: text: must not be empty/],
    ['text over the length limit', { text: 'a'.repeat(101) }, 400, 'invalid_request', /at most 100 characters/],
    ['a batch over the size limit', { texts: ['a', 'b', 'c', 'd', 'e'] }, 400, 'invalid_request', /body: texts: must hold at most 4 texts/],
    ['an empty batch', { texts: [] }, 400, 'invalid_request', /at least one text/],
    ['an empty text in a batch', { texts: ['good', ''] }, 400, 'invalid_request', /body: texts\[1\]: must not be empty/],
    ['an unknown key', { text: 'good', extra: 1 }, 400, 'invalid_request', /extra/],
    ['no text at all', {}, 400, 'invalid_request', /body: text/],
  ] as const)('%s', async (_name, body, status, code, message) => {
    await expectError(await postJson(server.url, body), status, code, message);
  });

  it('a body over the byte limit', async () => {
    await expectError(await postJson(server.url, { text: 'x'.repeat(3000) }), 413, 'body_too_large', /2048 bytes/);
  });

  it('a wrong content type', async () => {
    const response = await fetch(`${server.url}/predict`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"text":"good"}' });
    await expectError(response, 415, 'unsupported_media_type', /application\/json.*text\/plain/);
  });

  it('an unknown route and a wrong method', async () => {
    await expectError(await fetch(`${server.url}/nope`), 404, 'not_found', /no route \/nope/);
    await expectError(await fetch(`${server.url}/model/../../etc/passwd`), 404, 'not_found', /./);
    await expectError(await fetch(`${server.url}/static/lib/serve/server.js`), 404, 'not_found', /not served/);
    const wrong = await fetch(`${server.url}/predict`);
    expect(wrong.headers.get('allow')).toBe('POST');
    await expectError(wrong, 405, 'method_not_allowed', /POST/);
  });

  it('still answers after all of that', async () => {
    expect((await postJson(server.url, { text: 'good' })).status).toBe(200);
  });
});

describe('other routes', () => {
  it('GET /health', async () => {
    const body = await (await fetch(`${server.url}/health`)).json();
    expect(body).toMatchObject({ status: 'ok', model: { fingerprint: 'fp-a' }, queue_depth: 0, last_reload_error: null });
  });

  it('GET /metadata has labels, model card, metrics and export time', async () => {
    const body = (await (await fetch(`${server.url}/metadata`)).json()) as Record<string, unknown>;
    expect(body.labels).toEqual(['negative', 'positive']);
    expect(body.model_card).toMatch(/# kd-student/);
    expect(body.metadata).toMatchObject({ metrics: { accuracy: 1 }, exported_at: expect.any(String) });
    expect(body.preprocessing).toEqual({ tokenizer: 'words', lowercase: true, strip_accents: false, max_len: 8 });
  });

  it('GET /metrics in Prometheus text format', async () => {
    const response = await fetch(`${server.url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/kd_serve_requests_total\{route="\/predict",status="200"\} \d+/);
    expect(text).toMatch(/kd_serve_requests_total\{route="\/predict",status="400"\} \d+/);
    expect(text).toMatch(/kd_serve_errors_total\{route="\/predict",code="invalid_request"\} \d+/);
    expect(text).toMatch(/kd_serve_request_duration_seconds_bucket\{le="0.005",route="\/predict"\} \d+/);
    expect(text).toMatch(/kd_serve_model_info\{name="kd-student",version="1",fingerprint="fp-a"\} 1/);
    expect(text).toMatch(/kd_serve_queue_depth 0/);
  });

  it('GET /openapi.json documents the routes and limits', async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/predict', '/health', '/metadata', '/metrics']));
    expect(JSON.stringify(doc.paths['/predict'])).toContain('"maxItems":4');
  });

  it('GET /model/* serves the loaded export for the in-browser model', async () => {
    const modelJson = (await (await fetch(`${server.url}/model/model.json`)).json()) as { weightsManifest: { paths: string[] }[] };
    const weights = await fetch(`${server.url}/model/${modelJson.weightsManifest[0]!.paths[0]}`);
    expect(weights.status).toBe(200);
    expect((await weights.arrayBuffer()).byteLength).toBeGreaterThan(0);
    expect(await (await fetch(`${server.url}/model/labels.json`)).json()).toEqual(['negative', 'positive']);
  });

  it('a second server on the same port is refused with a clear message', async () => {
    const port = Number(new URL(server.url).port);
    await expect(serve(server.holder.exportDir, { port })).rejects.toThrow(/cannot listen on 127.0.0.1:\d+: the port is in use/);
  });

  it('GET / serves the page and tfjs comes from node_modules', async () => {
    expect(await (await fetch(`${server.url}/`)).text()).toContain('<textarea id="text"');
    const tfjs = await fetch(`${server.url}/vendor/tf.min.js`);
    expect(tfjs.status).toBe(200);
    expect(tfjs.headers.get('content-type')).toMatch(/javascript/);
  });
});
