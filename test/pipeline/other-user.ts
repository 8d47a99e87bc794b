import { chmodSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { CLI, cliEnv, type CliResult, type Project } from './harness.js';

/**
 * The CLI as a user without root's power to read anything: root ignores file modes, so a chmod 000
 * folder only fails to read for another user (call openToAll first, so it can use the project).
 */
export async function asOtherUser(p: Project, args: string[]): Promise<CliResult> {
  const asRoot = process.getuid?.() === 0;
  const command = asRoot ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'node', CLI, ...args] : ['node', CLI, ...args];
  const r = await execa(command[0] as string, command.slice(1), { cwd: p.dir, env: { ...cliEnv(), HOME: tmpdir() }, extendEnv: false, reject: false });
  return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr, json: args.includes('--json') ? JSON.parse(r.stdout || 'null') : undefined };
}

/** Everything under `dir` readable and writable by anyone (the test then takes away what it wants unreadable). */
export function openToAll(dir: string): void {
  chmodSync(dir, 0o777);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) openToAll(file);
    else chmodSync(file, 0o666);
  }
}

