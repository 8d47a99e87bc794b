import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { KdError } from '../errors.js';
import { MlflowClient } from './client.js';

/** The `mlflow` command: the project's .venv first (where scripts/test-env.mjs installs it), then PATH. */
export function findMlflow(root: string): string | null {
  const dirs = [join(root, '.venv', 'bin'), ...(process.env.PATH ?? '').split(delimiter)];
  for (const dir of dirs) if (dir && existsSync(join(dir, 'mlflow'))) return join(dir, 'mlflow');
  return null;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export interface LocalMlflow {
  uri: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** `mlflow server` on 127.0.0.1 with a SQLite store and proxied artifacts under `stateDir`; resolves once /health answers. */
export async function startMlflowServer(mlflow: string, stateDir: string, port?: number, timeoutMs = 120_000): Promise<LocalMlflow> {
  mkdirSync(stateDir, { recursive: true });
  const p = port ?? (await freePort());
  const child = spawn(
    mlflow,
    ['server', '--host', '127.0.0.1', '--port', String(p), '--workers', '1',
      '--backend-store-uri', `sqlite:///${join(stateDir, 'mlflow.db')}`,
      '--serve-artifacts', '--artifacts-destination', join(stateDir, 'artifacts')],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: false },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => void (stderr = (stderr + d.toString()).slice(-4000)));
  const uri = `http://127.0.0.1:${p}`;
  const client = new MlflowClient({ uri, timeoutMs: 1000 });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  const until = Date.now() + timeoutMs;
  while (!(await client.health())) {
    if (child.exitCode !== null || Date.now() > until) {
      await stop();
      throw new KdError(`mlflow server did not start on ${uri}:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return { uri, process: child, stop };
}
