import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { writeJsonAtomic } from '../../atomic-write.js';
import { KdError } from '../../errors.js';
import { isAbsent, readFailure, readTextIfExists } from '../../read-file.js';
import { formatZodError } from '../../validation.js';
import { readLock, type Lock } from '../lock.js';
import type { ProjectPaths } from '../project.js';
import { liveHolder } from '../run-lock.js';

/**
 * Where experiments live: `.kd/exp/<sweep>/sweep.json` (what was asked), `sweep.lock` (the pid of
 * the `exp run` while it runs) and one workspace per trial, `.kd/exp/<sweep>/<n>/`, whose
 * `.kd/trial.json` records the trial's status, stage results and metrics. Trial ids are `<sweep>.<n>`.
 */
export const SWEEP_NAME = /^[A-Za-z0-9_-]+$/;

const stageResult = z.enum(['ran', 'skipped', 'restored', 'failed', 'not-run']);

const sweepSchema = z.object({
  name: z.string(),
  runId: z.string(),
  createdAt: z.string(),
  axes: z.array(z.object({ key: z.string(), spec: z.string(), values: z.array(z.unknown()) })),
  trials: z.number().int(),
  /** A sweep enqueued with `exp run --queue`: the queue's URL and each trial's job id, in trial order. */
  queue: z.object({ url: z.string(), jobs: z.array(z.string()) }).optional(),
});

export const trialSchema = z.object({
  id: z.string(),
  sweep: z.string(),
  status: z.enum(['running', 'ok', 'failed']),
  params: z.record(z.string(), z.unknown()),
  startedAt: z.string(),
  seconds: z.number().nullable(),
  stages: z.record(z.string(), stageResult),
  metrics: z.record(z.string(), z.record(z.string(), z.number())),
  runId: z.string().optional(),
  error: z.string().optional(),
});

export type SweepRecord = z.infer<typeof sweepSchema>;
export type TrialRecord = z.infer<typeof trialSchema>;

export const sweepDir = (paths: ProjectPaths, sweep: string) => path.join(paths.exp, sweep);
export const sweepLockFile = (paths: ProjectPaths, sweep: string) => path.join(sweepDir(paths, sweep), 'sweep.lock');
export const trialDir = (paths: ProjectPaths, sweep: string, index: number) => path.join(sweepDir(paths, sweep), String(index));
const trialFile = (dir: string) => path.join(dir, '.kd', 'trial.json');

/**
 * A sweep or trial record; undefined only when the file is absent (a sweep or trial being set up).
 * A corrupt record is an error naming it: dropping it would hide the trial from `exp show` and gc.
 */
function readJson<T>(file: string, schema: z.ZodType<T>): T | undefined {
  const text = readTextIfExists(file);
  if (text === null) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new KdError(`${file}: corrupt experiment record (${(error as Error).message}); fix or remove it`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new KdError(`${formatZodError(parsed.error, file)} (corrupt experiment record; fix or remove it)`);
  return parsed.data;
}

function dirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (error) {
    if (isAbsent(error)) return [];
    throw readFailure(dir, error);
  }
}

export function writeSweep(paths: ProjectPaths, sweep: SweepRecord): void {
  writeJsonAtomic(path.join(sweepDir(paths, sweep.name), 'sweep.json'), sweep);
}

export function writeTrial(dir: string, trial: TrialRecord): void {
  writeJsonAtomic(trialFile(dir), trial);
}

export function readSweep(paths: ProjectPaths, sweep: string): SweepRecord | undefined {
  return readJson(path.join(sweepDir(paths, sweep), 'sweep.json'), sweepSchema);
}

/** Every sweep, oldest first. */
export function listSweeps(paths: ProjectPaths): SweepRecord[] {
  return dirs(paths.exp)
    .flatMap((name) => readSweep(paths, name) ?? [])
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

export function sweepRunning(paths: ProjectPaths, sweep: string): number | undefined {
  return liveHolder(sweepLockFile(paths, sweep));
}

export interface StoredTrial {
  record: TrialRecord;
  dir: string;
}

/** The trials of a sweep that started, in order; a `running` trial whose sweep process is gone is reported failed. */
export function sweepTrials(paths: ProjectPaths, sweep: string): StoredTrial[] {
  // A queued sweep's trials run on workers: its records say what the queue last said.
  const running = sweepRunning(paths, sweep) !== undefined || readSweep(paths, sweep)?.queue !== undefined;
  return trialFolders(paths, sweep).flatMap((name) => {
    const dir = path.join(sweepDir(paths, sweep), name);
    const record = readJson(trialFile(dir), trialSchema);
    if (!record) return [];
    if (record.status === 'running' && !running) Object.assign(record, { status: 'failed', error: 'the exp run that ran this trial ended before it finished' });
    return [{ record, dir }];
  });
}

/** `<sweep>.<n>` → its trial, or one clear error. */
export function findTrial(paths: ProjectPaths, id: string, command: string): StoredTrial {
  const match = /^(.+)\.(\d+)$/.exec(id);
  const found = match ? sweepTrials(paths, match[1] as string).find((t) => t.record.id === id) : undefined;
  if (!found) throw new KdError(`${command}: no experiment '${id}' (\`kd-pipeline exp show\` lists them)`);
  return found;
}

/**
 * The lock of every trial workspace, by its path: gc keeps the cache objects they name. Every
 * numbered folder of every sweep folder counts, whether or not its records were written yet, and
 * the records are read so that a corrupt one stops gc instead of hiding a trial.
 */
export function trialLocks(paths: ProjectPaths): { file: string; lock: Lock }[] {
  return dirs(paths.exp).flatMap((sweep) => {
    readJson(path.join(sweepDir(paths, sweep), 'sweep.json'), sweepSchema);
    return trialFolders(paths, sweep).map((name) => {
      const dir = path.join(sweepDir(paths, sweep), name);
      readJson(trialFile(dir), trialSchema);
      const file = path.join(dir, 'pipeline.lock');
      return { file, lock: readLock(file, file) };
    });
  });
}

/** The numbered trial folders of a sweep, in order. */
function trialFolders(paths: ProjectPaths, sweep: string): string[] {
  return dirs(sweepDir(paths, sweep))
    .filter((name) => /^\d+$/.test(name))
    .sort((a, b) => Number(a) - Number(b));
}

/** Refuses while an `exp run` is running: gc, or removing its sweep, would pull the ground from under it. */
export function refuseWhileRunning(paths: ProjectPaths, what: string, sweeps = dirs(paths.exp)): void {
  for (const sweep of sweeps) {
    const pid = sweepRunning(paths, sweep);
    if (pid !== undefined) throw new KdError(`${what}: sweep '${sweep}' is running (exp run, pid ${pid}); wait for it to end or stop it with Ctrl-C`);
  }
}

/** `exp remove`: one trial, a sweep, or all of them; returns the ids of the trials removed. */
export function removeExperiments(paths: ProjectPaths, target: { id?: string; sweep?: string; all?: boolean }): string[] {
  const command = 'exp remove';
  if (target.id) {
    const trial = findTrial(paths, target.id, command);
    refuseWhileRunning(paths, command, [trial.record.sweep]);
    rmSync(trial.dir, { recursive: true, force: true });
    return [trial.record.id];
  }
  const sweeps = target.all ? listSweeps(paths).map((s) => s.name) : [target.sweep as string];
  for (const sweep of sweeps) if (!existsSync(path.join(sweepDir(paths, sweep), 'sweep.json'))) throw new KdError(`${command}: no sweep named '${sweep}' (\`kd-pipeline exp show\` lists them)`);
  refuseWhileRunning(paths, command, sweeps);
  // Ids from the folder names, not the records: removing a sweep must work when a record is corrupt.
  const removed = sweeps.flatMap((sweep) => trialFolders(paths, sweep).map((name) => `${sweep}.${name}`));
  for (const sweep of sweeps) rmSync(sweepDir(paths, sweep), { recursive: true, force: true });
  return removed;
}
