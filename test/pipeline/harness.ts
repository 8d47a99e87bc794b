import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';

const REPO = path.resolve(import.meta.dirname, '../..');
export const CLI = path.join(REPO, 'bin/kd-pipeline.js');

/** The CLI's environment: no MLflow server (the tracker only journals), no colour, no inherited run id. */
export function cliEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.MLFLOW_TRACKING_URI;
  delete env.KD_RUN_ID;
  delete env.KD_STAGE;
  return env;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON when the command was given --json (undefined otherwise or if not JSON). */
  json: any;
}

export interface StageRow {
  name: string;
  result: string;
  seconds: number;
}

const created: string[] = [];

/** Deletes every project this test file created (call from afterAll). */
export function removeProjects(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A temp project with a pipeline.yaml of shell stages, driven through the real CLI. */
export class Project {
  readonly dir: string;
  /** Added to the CLI's environment of every command (e.g. a remote's endpoint and credentials). */
  env: Record<string, string> = {};

  constructor(files: Record<string, string> = {}) {
    this.dir = mkdtempSync(path.join(tmpdir(), 'kd-pipe-'));
    created.push(this.dir);
    for (const [rel, text] of Object.entries(files)) this.write(rel, text);
  }

  path(rel: string): string {
    return path.join(this.dir, rel);
  }

  write(rel: string, text: string): void {
    mkdirSync(path.dirname(this.path(rel)), { recursive: true });
    writeFileSync(this.path(rel), text);
  }

  read(rel: string): string {
    return readFileSync(this.path(rel), 'utf8');
  }

  exists(rel: string): boolean {
    return existsSync(this.path(rel));
  }

  remove(rel: string): void {
    rmSync(this.path(rel), { recursive: true, force: true });
  }

  /** How many times each stage's command ran, from the `ran.log` side-effect file the stages append to. */
  runs(stage: string): number {
    if (!this.exists('ran.log')) return 0;
    return this.read('ran.log').split('\n').filter((line) => line === stage).length;
  }

  lock(): any {
    return parse(this.read('pipeline.lock'));
  }

  async kd(args: string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
    const result = await execa('node', [CLI, ...args], {
      cwd: options.cwd ?? this.dir,
      env: { ...cliEnv(), ...this.env },
      extendEnv: false,
      reject: false,
      timeout: options.timeoutMs ?? 60_000,
    });
    let json: unknown;
    if (args.includes('--json')) {
      try {
        json = JSON.parse(result.stdout);
      } catch {
        json = undefined;
      }
    }
    return { code: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr, json };
  }

  /** `run --json …` → stage name → result, failing loudly (with stderr) if stdout is not the JSON report. */
  async run(...args: string[]): Promise<{ code: number; results: Record<string, string>; stderr: string; json: any }> {
    const r = await this.kd(['run', '--json', ...args]);
    if (!r.json) throw new Error(`run ${args.join(' ')} printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    const results = Object.fromEntries((r.json.stages as StageRow[]).map((s) => [s.name, s.result]));
    return { code: r.code, results, stderr: r.stderr, json: r.json };
  }

  /** Starts the CLI without waiting for it (for signals and concurrent runs). */
  spawn(args: string[]): ChildProcess & { output: () => string } {
    const child = spawn('node', [CLI, ...args], { cwd: this.dir, env: { ...cliEnv(), ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    return Object.assign(child, { output: () => text });
  }

  /** Every file under the project (relative paths), .kd included. */
  files(dir = ''): string[] {
    return readdirSync(this.path(dir), { withFileTypes: true }).flatMap((entry) => {
      const rel = dir ? `${dir}/${entry.name}` : entry.name;
      return entry.isDirectory() ? this.files(rel) : [rel];
    });
  }
}

/** Resolves with the child's exit code. */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
}

/** Polls until `check` is true (or fails after `timeoutMs`). */
export async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * A two-stage chain plus an independent stage: `up` (in.txt, param a) → `down` (up.txt, param b),
 * and `side` (side.txt). Every command appends its stage name to ran.log, which is no declared out,
 * so the tests can tell a stage that ran from one restored from the cache.
 */
export function chainProject(): Project {
  return new Project({
    'params.yaml': 'a: 1\nb: 2\nunused: 3\nnested:\n  x: 1\n  y: 2\n',
    'in.txt': 'hello\n',
    'side.txt': 'side\n',
    'pipeline.yaml': `stages:
  up:
    cmd: echo up >> ran.log && tr a-z A-Z < in.txt > up.txt
    deps: [in.txt]
    params: [a]
    outs: [up.txt]
  down:
    cmd: echo down >> ran.log && cat up.txt > down.txt && echo b=\${b} >> down.txt
    deps: [up.txt]
    params: [b]
    outs: [down.txt]
  side:
    cmd: echo side >> ran.log && cat side.txt side.txt > side.out
    deps: [side.txt]
    outs: [side.out]
`,
  });
}
