import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** This installation's bin/ (holding `kd-pipeline`), so stage commands run the same version. */
const OWN_BIN = fileURLToPath(new URL('../../../bin/', import.meta.url));

/** How long a stage gets to exit after SIGTERM before it is killed. */
const KILL_GRACE_MS = 5000;
const TAIL_LINES = 20;

export interface ExecOptions {
  cmd: string;
  cwd: string;
  root: string;
  env: Record<string, string>;
  logFile: string;
  /** Called for every line the command prints (stdout and stderr). */
  onLine(line: string): void;
  signal: AbortSignal;
}

export interface ExecResult {
  ok: boolean;
  /** e.g. "exit code 2" or "killed by SIGTERM". */
  failure?: string;
  tail: string[];
}

/**
 * Runs a stage's cmd through a shell in its own process group (so an interrupt reaches every
 * process the command started), streaming its output line by line and into a log file.
 */
export async function executeCommand(options: ExecOptions): Promise<ExecResult> {
  const { execa } = await import('execa');
  mkdirSync(path.dirname(options.logFile), { recursive: true });
  const log = createWriteStream(options.logFile);
  const tail: string[] = [];
  const pathVar = [OWN_BIN, path.join(options.root, 'node_modules', '.bin'), process.env.PATH ?? ''].join(path.delimiter);
  const child = execa(options.cmd, {
    shell: true,
    cwd: options.cwd,
    env: { ...options.env, PATH: pathVar },
    stdin: 'ignore',
    buffer: false,
    reject: false,
    detached: true,
    cleanup: true,
  });
  const onAbort = (): void => {
    const kill = (signal: NodeJS.Signals): void => {
      try {
        if (child.pid) process.kill(-child.pid, signal);
      } catch {
        // Already gone.
      }
    };
    kill('SIGTERM');
    setTimeout(() => kill('SIGKILL'), KILL_GRACE_MS).unref();
  };
  options.signal.addEventListener('abort', onAbort, { once: true });
  if (options.signal.aborted) onAbort();

  const pump = (stream: NodeJS.ReadableStream | null): Promise<void> =>
    new Promise((resolve) => {
      if (!stream) return resolve();
      const lines = createInterface({ input: stream, crlfDelay: Infinity });
      lines.on('line', (line) => {
        log.write(`${line}\n`);
        tail.push(line);
        if (tail.length > TAIL_LINES) tail.shift();
        options.onLine(line);
      });
      lines.on('close', resolve);
    });
  await Promise.all([pump(child.stdout), pump(child.stderr)]);
  const result = await child;
  options.signal.removeEventListener('abort', onAbort);
  await new Promise<void>((resolve) => log.end(resolve));
  if (result.exitCode === 0 && !options.signal.aborted) return { ok: true, tail };
  const failure = result.signal ? `killed by ${result.signal}` : `exit code ${result.exitCode ?? 'unknown'}`;
  return { ok: false, failure, tail };
}
