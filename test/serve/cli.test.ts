import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeExport } from './export-fixture.js';
import { postJson, tempDir } from './server-harness.js';

// Runs the built CLI (npm test builds first), as a user or a process manager would.
const tmp = tempDir('cli');
let exportDir: string;

beforeAll(async () => {
  if (!existsSync('dist/lib/cli/main.js')) throw new Error('dist/ is missing: run `npm run build` first');
  exportDir = await writeExport(path.join(tmp.dir, 'export'), 'fp-1');
});
afterAll(() => tmp.remove());

async function fingerprint(url: string): Promise<string> {
  return ((await (await postJson(url, { text: 'good' })).json()) as { model: { fingerprint: string } }).model.fingerprint;
}

describe('kd-pipeline serve', () => {
  it('prints its URL as JSON, reloads on SIGHUP and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, ['bin/kd-pipeline.js', 'serve', '--model', exportDir, '--port', '0', '--no-watch', '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const started = JSON.parse(await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString())))) as {
        url: string;
        model: { fingerprint: string };
        pid: number;
      };
      expect(started).toMatchObject({ url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), model: { fingerprint: 'fp-1' }, pid: child.pid });
      expect(await fingerprint(started.url)).toBe('fp-1');

      await writeExport(exportDir, 'fp-2');
      child.kill('SIGHUP');
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && (await fingerprint(started.url)) !== 'fp-2') await new Promise((r) => setTimeout(r, 50));
      expect(await fingerprint(started.url)).toBe('fp-2');

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stderr).toMatch(/SIGTERM: finishing the requests in flight/);
      expect(stderr).toMatch(/stopped/);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('refuses a bad flag and a missing export with one clear message', async () => {
    const badPort = await execa('node', ['bin/kd-pipeline.js', 'serve', '--port', 'http'], { reject: false });
    expect(badPort.exitCode).toBe(2);
    expect(badPort.stderr).toMatch(/^kd-pipeline: error: serve: --port "http": /m);
    const seconds = await execa('node', ['bin/kd-pipeline.js', 'serve', '--request-timeout', '30'], { reject: false });
    expect(seconds.exitCode).toBe(2);
    expect(seconds.stderr).toMatch(/^kd-pipeline: error: serve: --request-timeout "30": must be at least 100 \(milliseconds\)$/m);
    const headers = await execa('node', ['bin/kd-pipeline.js', 'serve', '--headers-timeout', '5000', '--request-timeout', '1000'], { reject: false });
    expect(headers.exitCode).toBe(2);
    expect(headers.stderr).toMatch(/^kd-pipeline: error: serve: --headers-timeout 5000 must be at most --request-timeout 1000/m);
    const cap = await execa('node', ['bin/kd-pipeline.js', 'serve', '--max-connections', '0'], { reject: false });
    expect(cap.exitCode).toBe(2);
    expect(cap.stderr).toMatch(/^kd-pipeline: error: serve: --max-connections "0": /m);
    const missing = await execa('node', ['bin/kd-pipeline.js', 'serve', '--model', path.join(tmp.dir, 'nope'), '--port', '0'], { reject: false });
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/kd-pipeline: error: .*nope: no such export directory/);
  });
});
