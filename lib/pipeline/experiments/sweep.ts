import { appendFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import PQueue from 'p-queue';
import { KdError } from '../../errors.js';
import { declaredParams } from '../changes.js';
import { newRunId, runPipeline, type RunOptions, type RunReport } from '../engine.js';
import type { PipelineObserver } from '../events.js';
import { workspaceMetrics } from '../metrics-values.js';
import { readParamsText, setParamValues } from '../params-set.js';
import type { ProgressOut } from '../progress.js';
import { makeKdDir, projectPaths, type ProjectPaths } from '../project.js';
import { acquirePidLock } from '../run-lock.js';
import { findProjectRoot, loadPipeline, type PipelineSpec } from '../spec.js';
import { loadYaml } from '../yaml-memo.js';
import { grid, parseSweepFlags, randomDraws, type SweepAxis } from './sweep-syntax.js';
import { listSweeps, SWEEP_NAME, sweepLockFile, trialDir, writeSweep, writeTrial, type TrialRecord } from './store.js';
import type { SortOrder } from './table.js';
import { SweepProgress } from './sweep-progress.js';
import { createTrialWorkspace } from './workspace.js';

export interface SweepOptions {
  cwd: string;
  /** The -S flags as typed. */
  set: string[];
  /** Draw this many trials at random from the grid instead of running all of it. */
  random?: number;
  seed: number;
  /** Trials running at once. */
  jobs: number;
  name?: string;
  /** A metric (or param) for "best so far". */
  sortBy?: string;
  sortOrder?: SortOrder;
  argv: string[];
  /** Where progress goes (stderr). */
  out: ProgressOut;
  /** Builds the tracking observers of a run in `root` whose warnings go to `log`. */
  observers(root: string, log: ProgressOut): Promise<PipelineObserver[]>;
}

export interface SweepReport {
  sweep: string;
  trials: TrialRecord[];
  warnings: string[];
  interrupted: boolean;
}

/** A trial to run: its swept values and the text of its params.yaml. */
interface PlannedTrial {
  params: Record<string, unknown>;
  text: string;
}

const flagOf = (axis: SweepAxis, axes: SweepAxis[]) => `-S #${axes.indexOf(axis) + 1} (${axis.spec})`;

/** What decides which stages a params.yaml makes run: each stage's cmd, deps, outs and declared values. */
function stageShape(spec: PipelineSpec): string {
  return JSON.stringify(spec.stages.map((s) => [s.name, s.cmd, s.wdir, s.deps, s.outs, declaredParams(s, spec)]));
}

/**
 * Parses the flags and checks every trial's params.yaml against the pipeline before anything is
 * written: an unknown key or a value the pipeline cannot use is an error; a swept key that no
 * stage declares (or interpolates) is a warning, since trials differing only in it are identical.
 */
export function planSweep(root: string, options: Pick<SweepOptions, 'set' | 'random' | 'seed'>): { axes: SweepAxis[]; trials: PlannedTrial[]; warnings: string[] } {
  const axes = parseSweepFlags(options.set);
  if (axes.length === 0) throw new KdError('exp run: nothing to sweep: give at least one -S key=value[,value…]');
  const base = readParamsText(root, 'exp run');
  const textOf = (values: Record<string, unknown>) =>
    setParamValues(base, axes.map((axis) => ({ key: axis.key, add: axis.add, value: values[axis.key], origin: flagOf(axis, axes) })));
  const specOf = (text: string) => loadPipeline(root, (loadYaml().parse(text) ?? {}) as Record<string, unknown>);
  const firsts = Object.fromEntries(axes.map((a) => [a.key, a.values[0]]));
  const warnings: string[] = [];
  const swept = axes.filter((a) => a.values.length > 1);
  const inert = swept.filter((axis) => new Set(axis.values.map((value) => stageShape(specOf(textOf({ ...firsts, [axis.key]: value }))))).size === 1);
  for (const axis of inert) warnings.push(`${flagOf(axis, axes)}: no stage declares '${axis.key}' (nor uses it in a cmd, dep or out): trials that differ only in it would be identical`);
  if (swept.length > 0 && inert.length === swept.length) warnings.push('every trial of this sweep would be identical');
  const combos = grid(axes);
  const chosen = options.random === undefined ? combos : randomDraws(combos, options.random, options.seed);
  const trials = chosen.map((params) => {
    const text = textOf(params);
    specOf(text);
    return { params, text };
  });
  return { axes, trials, warnings };
}

export function sweepName(paths: ProjectPaths, asked: string | undefined): string {
  const taken = new Set(listSweeps(paths).map((s) => s.name));
  if (asked !== undefined) {
    if (!SWEEP_NAME.test(asked)) throw new KdError(`exp run: --name ${JSON.stringify(asked)}: use letters, digits, _ and -`);
    if (taken.has(asked)) throw new KdError(`exp run: --name ${asked}: a sweep with that name exists (\`kd-pipeline exp remove --sweep ${asked}\` removes it)`);
    return asked;
  }
  let n = 1;
  while (taken.has(`sweep-${n}`)) n += 1;
  return `sweep-${n}`;
}


/** A log file as a progress sink: a trial's stage lines go there, not to the terminal. */
function logSink(file: string): ProgressOut {
  return { write: (text: string) => appendFileSync(file, text.replace(/\r\x1b\[K/g, '')) };
}

/** A trial's run: the whole pipeline in its workspace, its progress to its log, nested under its sweep's tracked run. */
export function trialRunOptions(
  trial: { dir: string; id: string; sweep: string; sweepRunId: string; jobs: number; argv: string[]; log: ProgressOut; observers: RunOptions['observers'] },
  extra: Partial<RunOptions> = {},
): RunOptions {
  return {
    cwd: trial.dir,
    targets: [],
    force: false,
    downstream: false,
    singleStage: false,
    jobs: trial.jobs,
    keepGoing: false,
    runCache: true,
    pull: false,
    wait: false,
    set: [],
    argv: trial.argv,
    observers: trial.observers,
    progressOut: trial.log,
    parentRunId: trial.sweepRunId,
    runName: trial.id,
    ...extra,
    runTags: { 'kd.sweep': trial.sweep, 'kd.trial': trial.id, ...extra.runTags },
  };
}

/** What a finished trial records: status, time, stage results, metrics and the first failure. */
export function trialOutcome(report: RunReport | undefined, dir: string, seconds: number): Partial<TrialRecord> {
  const failed = report?.stages.find((s) => s.result === 'failed');
  return {
    status: report && !report.interrupted && report.failed.length === 0 ? 'ok' : 'failed',
    seconds,
    stages: Object.fromEntries((report?.stages ?? []).map((s) => [s.name, s.result])),
    metrics: workspaceMetrics(dir).metrics,
    ...(report ? { runId: report.runId } : {}),
    ...(report?.interrupted ? { error: 'interrupted' } : failed ? { error: `stage '${failed.name}' failed: ${(failed.error ?? '').split('\n')[0]}` } : {}),
  };
}

/**
 * The sweep as a tracked run of its own, delivered before the trials so they can nest under it
 * (on this machine or on queue workers); `finish` ends it.
 */
export async function trackSweep(
  options: Pick<SweepOptions, 'out' | 'argv' | 'observers'>,
  root: string,
  name: string,
  axes: SweepAxis[],
  runId: string,
): Promise<{ finish(status: 'FINISHED' | 'FAILED' | 'KILLED'): Promise<void> }> {
  let quiet = true;
  const sweepLog: ProgressOut = { write: (text) => (quiet ? undefined : options.out.write(text)) };
  const observers = await options.observers(root, sweepLog);
  const notify = async (call: (o: PipelineObserver) => unknown) => {
    for (const observer of observers) await Promise.resolve(call(observer)).catch((error: Error) => sweepLog.write(`kd-pipeline: warning: tracking: ${error.message}\n`));
  };
  await notify((o) =>
    o.runStarted({
      runId,
      root,
      startedAt: new Date().toISOString(),
      user: os.userInfo().username,
      pipelineFingerprint: '',
      params: Object.fromEntries(axes.map((a) => [a.key, a.spec.slice(a.spec.indexOf('=') + 1)])),
      argv: options.argv,
      runName: `sweep ${name}`,
      tags: { 'kd.sweep': name },
    }),
  );
  await notify((o) => o.close());
  quiet = false;
  return {
    async finish(status) {
      await notify((o) => o.runFinished({ runId, status, endedAt: new Date().toISOString() }));
      await notify((o) => o.close());
    },
  };
}

/** `exp run`: every trial in its own workspace, `jobs` at a time, sharing the project's caches. */
export async function runSweep(options: SweepOptions): Promise<SweepReport> {
  const root = findProjectRoot(options.cwd);
  const paths = projectPaths(root);
  const spec = loadPipeline(root);
  const plan = planSweep(root, options);
  for (const warning of plan.warnings) options.out.write(`kd-pipeline: warning: ${warning}\n`);
  makeKdDir(paths);
  const name = sweepName(paths, options.name);
  const release = await acquirePidLock(sweepLockFile(paths, name), { onBusy: () => undefined });
  const runId = newRunId();
  writeSweep(paths, { name, runId, createdAt: new Date().toISOString(), axes: plan.axes.map((a) => ({ key: a.key, spec: a.spec, values: a.values })), trials: plan.trials.length });

  const tracking = await trackSweep(options, root, name, plan.axes, runId);
  const abort = new AbortController();
  const onSignal = () => {
    if (abort.signal.aborted) return;
    options.out.write('kd-pipeline: interrupted; stopping every trial (finished trials stay recorded)…\n');
    abort.abort();
  };
  const queue = new PQueue({ concurrency: Math.max(1, options.jobs) });
  const stageJobs = Math.max(1, Math.floor(os.availableParallelism() / Math.max(1, options.jobs)));
  const progress = new SweepProgress(options.out, plan.trials.length, options);

  const runTrial = async (index: number, planned: PlannedTrial): Promise<void> => {
    if (abort.signal.aborted) return;
    const id = `${name}.${index}`;
    const dir = trialDir(paths, name, index);
    const trialPaths = createTrialWorkspace(paths, spec, dir, planned.text);
    const log = logSink(path.join(trialPaths.kdDir, 'trial.log'));
    const record: TrialRecord = { id, sweep: name, status: 'running', params: planned.params, startedAt: new Date().toISOString(), seconds: null, stages: {}, metrics: {} };
    writeTrial(dir, record);
    progress.started(id, planned.params);
    const began = performance.now();
    let report: RunReport | undefined;
    try {
      report = await runPipeline(
        trialRunOptions({ dir, id, sweep: name, sweepRunId: runId, jobs: stageJobs, argv: options.argv, log, observers: (trialRoot) => options.observers(trialRoot, log) }, { signal: abort.signal }),
      );
    } catch (error) {
      record.error = error instanceof KdError ? error.message : String((error as Error).stack ?? error);
    }
    Object.assign(record, trialOutcome(report, dir, (performance.now() - began) / 1000));
    writeTrial(dir, record);
    progress.ended(record, path.relative(root, path.join(trialPaths.kdDir, 'trial.log')));
  };

  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    // A trial not yet started when Ctrl-C comes returns at once.
    await Promise.all(plan.trials.map((planned, i) => queue.add(() => runTrial(i + 1, planned))));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await tracking.finish(abort.signal.aborted ? 'KILLED' : progress.done.some((t) => t.status === 'failed') ? 'FAILED' : 'FINISHED');
    release();
  }
  const trials = progress.done.sort((a, b) => Number(a.id.slice(name.length + 1)) - Number(b.id.slice(name.length + 1)));
  return { sweep: name, trials, warnings: plan.warnings, interrupted: abort.signal.aborted };
}

