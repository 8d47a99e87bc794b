import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { freePort } from '../../lib/tracking/local-server.js';

/** Why redis-server cannot be started here, or undefined when it can (for `needs()`). */
export function redisMissing(): string | undefined {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return probe.error ? `redis-server is not installed (${probe.error.message})` : undefined;
}

export interface RedisServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * A throw-away redis-server on 127.0.0.1 and a free port (never the system service), persistence
 * off unless `aofDir` is given: then every write goes to an append-only file there, which a server
 * started again on the same folder reads back (a restart that keeps the queue).
 */
export async function startRedis(port?: number, aofDir?: string): Promise<RedisServer> {
  port ??= await freePort();
  const persistence = aofDir ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', aofDir] : ['--appendonly', 'no'];
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => void (output = (output + d.toString()).slice(-4000)));
  const deadline = Date.now() + 10_000;
  while (!output.includes('Ready to accept connections')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server did not start on port ${port}:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    stop: async () => {
      if (child.exitCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    },
  };
}
