import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** This installation's bin/ (holding `kd-pipeline`), so stage commands run the same version. */
const OWN_BIN = fileURLToPath(new URL('../../../bin/', import.meta.url));

/** How long a stage gets to exit after SIGTERM before it is killed. */
const KILL_GRACE_MS = 5000;
const TAIL_LINES = 20;

/**
 * The shell script a stage's cmd ($1) runs under. A watchdog in the background of the stage's
 * process group blocks reading fd 3, a pipe whose other end only the runner holds: when the runner
 * dies, however it dies (SIGKILL, the OOM killer; Node has no PR_SET_PDEATHSIG), the kernel closes
 * that end, the read returns, and the watchdog terminates the whole group (SIGTERM, then SIGKILL),
 * so no orphan goes on writing outs while no run holds the lock. The cmd itself does not see fd 3;
 * when it ends, the wrapper stops the watchdog and exits with the cmd's status (re-raising the
 * signal that killed it, so the runner still reports "killed by SIGTERM").
 */
const WATCHDOG_WRAPPER = `(trap '' INT TERM; read -r _ <&3; kill -TERM 0; sleep ${KILL_GRACE_MS / 1000}; kill -KILL 0) </dev/null >/dev/null 2>&1 &
watchdog=$!
exec 3<&-
/bin/sh -c "$1"
status=$?
kill -KILL "$watchdog" 2>/dev/null
if [ "$status" -gt 128 ]; then kill -$((status - 128)) $$; fi
exit "$status"`;

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
 * process the command started, and the group ends if the runner dies), streaming its output line
 * by line and into a log file.
 */
export async function executeCommand(options: ExecOptions): Promise<ExecResult> {
  const { execa } = await import('execa');
  mkdirSync(path.dirname(options.logFile), { recursive: true });
  const log = createWriteStream(options.logFile);
  const tail: string[] = [];
  const pathVar = [OWN_BIN, path.join(options.root, 'node_modules', '.bin'), process.env.PATH ?? ''].join(path.delimiter);
  const child = execa('/bin/sh', ['-c', WATCHDOG_WRAPPER, 'kd-stage', options.cmd], {
    cwd: options.cwd,
    env: { ...options.env, PATH: pathVar },
    // fd 3: the watchdog's lifeline, held open by this process only.
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
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
