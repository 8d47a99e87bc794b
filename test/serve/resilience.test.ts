import type { Server } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { writeExport } from './export-fixture.js';
import { RawClient } from './raw-http.js';
import { postJson, serve, tempDir } from './server-harness.js';

const tmp = tempDir('resilience');
let modelDir: string;

beforeAll(async () => {
  modelDir = await writeExport(path.join(tmp.dir, 'export'), 'fp-r');
});
afterAll(() => tmp.remove());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const openConnections = (http: Server) => new Promise<number>((resolve, reject) => http.getConnections((error, count) => (error ? reject(error) : resolve(count))));

async function label(url: string, text: string): Promise<string> {
  const response = await postJson(url, { text });
  expect(response.status).toBe(200);
  return ((await response.json()) as { label: string }).label;
}

describe('a server error after listening', () => {
  it('is logged, and the model keeps serving', async () => {
    const server = await serve(modelDir);
    try {
      expect(await label(server.url, 'good')).toBe('positive');
      // What node:net emits when accept() fails for want of file descriptors.
      server.http.emit('error', Object.assign(new Error('accept EMFILE'), { code: 'EMFILE', syscall: 'accept' }));
      expect(await label(server.url, 'awful')).toBe('negative');
      expect(server.logs).toContain('server error (still serving): accept EMFILE');
    } finally {
      await server.close();
    }
  });
});

describe('request paths', () => {
  it('answers malformed percent-encoding and a target that is no path with 400 and a JSON error', async () => {
    const server = await serve(modelDir);
    try {
      const response = await fetch(`${server.url}/model/%E0%A4%A`);
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ error: { code: 'invalid_path', message: '/model/%E0%A4%A is not valid percent-encoded UTF-8' } });
      // fetch would normalise this target; a bare socket sends it as it is.
      const client = new RawClient(server.url);
      client.write('GET // HTTP/1.1\r\nhost: test\r\n\r\n');
      const raw = await client.response();
      client.close();
      expect(raw.status).toBe(400);
      expect(JSON.parse(raw.body)).toEqual({ error: { code: 'invalid_path', message: '"//" is not a valid request path' } });
      expect(server.logs.filter((line) => line.startsWith('internal error'))).toEqual([]);
      expect((await fetch(`${server.url}/model/vocab.json`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe('slow clients', () => {
  it('drops a client that trickles its body slower than --request-timeout with 408, serving others meanwhile', async () => {
    const server = await serve(modelDir, { requestTimeoutMs: 600, headersTimeoutMs: 300 });
    try {
      const slow = new RawClient(server.url);
      const body = JSON.stringify({ text: 'good good good good' });
      slow.write(`POST /predict HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`);
      const started = Date.now();
      // One byte every 100 ms would take over 2 s: far past the 600 ms the whole request may take.
      void slow.trickle(body, 100);
      // While it trickles, other clients are answered.
      for (let i = 0; i < 3; i++) {
        expect(await label(server.url, 'love')).toBe('positive');
        await sleep(100);
      }
      const received = await slow.closed;
      expect(received).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
      // Cut off well before its 31 bytes could have trickled in (3.1 s), let alone Node's default 300 s.
      expect(Date.now() - started).toBeLessThan(2500);
      expect(await label(server.url, 'hate')).toBe('negative');
      const metrics = await server.metrics.registry.metrics();
      expect(metrics).toMatch(/^kd_serve_errors_total\{route="\/predict",code="request_timeout"\} 1$/m);
      expect(metrics).toMatch(/^kd_serve_requests_total\{route="\/predict",status="408"\} 1$/m);
    } finally {
      await server.close();
    }
  });

  it('drops a client that does not finish its headers within --headers-timeout', async () => {
    const server = await serve(modelDir, { requestTimeoutMs: 2000, headersTimeoutMs: 300 });
    try {
      const slow = new RawClient(server.url);
      const started = Date.now();
      slow.write('POST /predict HTTP/1.1\r\nhost: test\r\n');
      expect(await slow.closed).toMatch(/^HTTP\/1\.1 408 /);
      expect(Date.now() - started).toBeLessThan(5000); // Node's default would be 60 s
      expect(await label(server.url, 'good')).toBe('positive');
    } finally {
      await server.close();
    }
  });
});

describe('--max-connections', () => {
  it('closes a connection beyond the cap at once, answers the open ones, and accepts again when one closes', async () => {
    const server = await serve(modelDir, { maxConnections: 2 });
    try {
      const held = [new RawClient(server.url), new RawClient(server.url)];
      for (const client of held) {
        client.predict('good');
        expect((await client.response()).status).toBe(200);
      }
      const third = new RawClient(server.url);
      await third.connected;
      third.predict('good');
      expect(await third.closed).toBe('');

      // The two open connections are still served.
      for (const client of held) {
        client.predict('bad');
        const response = await client.response();
        expect(response.status).toBe(200);
        expect(JSON.parse(response.body)).toMatchObject({ label: 'negative' });
      }
      held[0]!.close();
      await held[0]!.closed;
      await vi.waitFor(async () => expect(await openConnections(server.http)).toBe(1), { timeout: 5000 });
      const next = new RawClient(server.url);
      next.predict('love');
      expect((await next.response()).status).toBe(200);
      next.close();
      held[1]!.close();

      expect(server.logs).toContain('refused a connection: 2 connections are open (--max-connections)');
      expect(await server.metrics.registry.getSingleMetricAsString('kd_serve_connections_refused_total')).toMatch(/^kd_serve_connections_refused_total 1$/m);
    } finally {
      await server.close();
    }
  });
});
