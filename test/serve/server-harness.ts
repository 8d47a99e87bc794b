import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_SERVE_OPTIONS, startServer, type RunningServer, type ServeOptions } from '../../lib/serve/server.js';

export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), `kd-serve-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Starts a server on a free loopback port; the returned `logs` collects its log lines. */
export async function serve(modelDir: string, overrides: Partial<ServeOptions> = {}): Promise<RunningServer & { logs: string[] }> {
  const logs: string[] = [];
  const server = await startServer({ ...DEFAULT_SERVE_OPTIONS, port: 0, watchIntervalMs: 0, modelDir, log: (line) => logs.push(line), ...overrides });
  return Object.assign(server, { logs });
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
