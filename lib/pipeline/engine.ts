import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import objectHash from 'object-hash';
import PQueue from 'p-queue';
import { KdError } from '../errors.js';
import { ContentCache } from './cache.js';
import { checkStage, paramLeaves, recordsDeclaredOuts, type StageCheck } from './changes.js';
import type { PipelineObserver, StageEndInfo, StageResult } from './events.js';
import { executeCommand } from './executor.js';
import { gitCommit } from './git.js';
import { buildGraph, reachable, stagePath, type PipelineGraph } from './graph.js';
import { readLock, writeLock, type Lock, type LockedStage } from './lock.js';
import { applyParamOverrides } from './params-set.js';
import { formatSeconds, Progress, type ProgressOut } from './progress.js';
import { makeKdDir, projectPaths, relPath, type ProjectPaths } from './project.js';
import { formatBytes } from './remote/format.js';
import { hashedOuts, RemoteObjects } from './remote/objects.js';
import { withRetries } from './remote/retry.js';
import { RemoteError } from './remote/store.js';
import { RunCache } from './run-cache.js';
import { acquireRunLock, claimFingerprint, type FingerprintClaimer } from './run-lock.js';
import { cachedOutsAvailable, commitStage, prepareOuts, restoreOuts, StageOutError } from './stage-commit.js';
import { findProjectRoot, loadPipeline, type PipelineSpec, type StageSpec } from './spec.js';
import { readStageTags, STAGE_TAGS_ENV } from './stage-tags.js';
import { StateStore } from './state-store.js';
import { CorruptCacheObjectError } from './verified-objects.js';

export interface RunOptions {
  cwd: string;
  targets: string[];
  force: boolean;
  downstream: boolean;
  singleStage: boolean;
  jobs: number;
  keepGoing: boolean;
  runCache: boolean;
  /** Before running a stage, look for its outputs or run-cache entry on a remote and restore them from there. */
  pull: boolean;
  /** The remote for `pull` (default: the project's default remote). */
  remote?: string;
  wait: boolean;
  set: string[];
  argv: string[];
  /** Builds the observers (MLflow tracking) once the project root is known. */
  observers(root: string): Promise<PipelineObserver[]>;
  /** Interrupts the run as Ctrl-C does (an experiment sweep stopping its trials). */
  signal?: AbortSignal;
  /** Where progress lines go (default: stderr); an experiment trial writes them to its log. */
  progressOut?: ProgressOut;
  /** Tracking: the run this one is nested under (an experiment sweep), its name and extra tags. */
  parentRunId?: string;
  runName?: string;
  runTags?: Record<string, string>;
  /** How stage fingerprints are claimed (default: claim files in `.kd/claims/`, for one machine). */
  claimer?: FingerprintClaimer;
  /**
   * With `pull`: push each stage this run executes (its outputs, then its run-cache entry) to the
   * remote before releasing its claim, so a queue worker waiting on that claim restores it.
   */
  publish?: boolean;
}

export interface StageOutcome {
  name: string;
  result: StageResult;
  seconds: number;
  reasons?: string[];
  error?: string;
}

export interface RunReport {
  runId: string;
  stages: StageOutcome[];
  failed: StageOutcome[];
  interrupted: boolean;
  /** The signal that interrupted the run, if one did. */
  signal?: NodeJS.Signals;
  /** Wall time of the whole run. */
  seconds: number;
}

/** The stages a run covers: all, or the targets with their upstream (default), downstream, or alone. */
export function selectStages(graph: PipelineGraph, targets: string[], mode: { downstream: boolean; singleStage: boolean }): Set<string> {
  if (targets.length === 0) return new Set(graph.order);
  for (const target of targets) {
    if (!graph.stages.has(target)) throw new KdError(`no stage named '${target}' in pipeline.yaml (stages: ${graph.order.join(', ')})`);
  }
  if (mode.singleStage) return new Set(targets);
  const edges = mode.downstream ? graph.downstream : graph.upstream;
  return new Set([...targets, ...reachable(targets, edges)]);
}

export function newRunId(): string {
  return `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${randomBytes(3).toString('hex')}`;
}

function describe(outcome: StageOutcome, producedBy?: string): string {
  const time = formatSeconds(outcome.seconds);
  switch (outcome.result) {
    case 'ran':
      return `✔ ${outcome.name}: done in ${time}`;
    case 'skipped':
      return `= ${outcome.name}: up to date${outcome.reasons?.length ? ` (${outcome.reasons.join('; ')})` : ''}`;
    case 'restored':
      return `↺ ${outcome.name}: restored from cache${producedBy ? ` (outputs of run ${producedBy})` : ''}`;
    case 'failed':
      return `✖ ${outcome.name}: failed after ${time}: ${outcome.error ?? ''}`;
    case 'not-run':
      return `· ${outcome.name}: not run (${outcome.error ?? ''})`;
  }
}

/** One `kd-pipeline run`: everything a run shares, and the scheduling of its stages. */
class PipelineRun {
  readonly runId = newRunId();
  private readonly paths: ProjectPaths;
  private readonly lock: Lock;
  private readonly state: StateStore;
  private readonly cache: ContentCache;
  private readonly runCache: RunCache;
  private readonly queue: PQueue;
  private readonly abort = new AbortController();
  private readonly outcomes = new Map<string, Promise<StageOutcome>>();
  private stopScheduling = false;
  interrupted = false;
  signal: NodeJS.Signals | undefined;

  constructor(
    private readonly spec: PipelineSpec,
    private readonly graph: PipelineGraph,
    private readonly selected: Set<string>,
    private readonly options: RunOptions,
    private readonly observers: PipelineObserver[],
    private readonly progress: Progress,
    private readonly remote: RemoteObjects | undefined,
  ) {
    this.paths = projectPaths(spec.root);
    this.lock = readLock(this.paths.lockFile);
    this.state = new StateStore(this.paths.state);
    this.cache = ContentCache.of(this.paths);
    this.runCache = new RunCache(this.paths.runs);
    this.queue = new PQueue({ concurrency: Math.max(1, options.jobs) });
  }

  /** Ctrl-C: stop scheduling, terminate running commands; what completed stays committed. */
  interrupt(signal: NodeJS.Signals): void {
    if (this.interrupted) return;
    this.interrupted = true;
    this.signal = signal;
    this.stopScheduling = true;
    this.progress.note('kd-pipeline: interrupted; stopping running stages (completed stages stay committed)…');
    this.abort.abort();
  }

  async run(): Promise<StageOutcome[]> {
    const names = this.graph.order.filter((name) => this.selected.has(name));
    const outcomes = await Promise.all(names.map((name) => this.outcome(name)));
    this.state.save();
    return outcomes;
  }

  private notify(call: (observer: PipelineObserver) => void | Promise<void>): Promise<void> {
    return notifyObservers(this.observers, this.progress, call);
  }

  private outcome(name: string): Promise<StageOutcome> {
    let pending = this.outcomes.get(name);
    if (!pending) {
      pending = this.schedule(name);
      this.outcomes.set(name, pending);
    }
    return pending;
  }

  private async schedule(name: string): Promise<StageOutcome> {
    const ups = [...(this.graph.upstream.get(name) ?? [])].filter((up) => this.selected.has(up));
    const upstream = await Promise.all(ups.map((up) => this.outcome(up)));
    const blocked = upstream.find((o) => o.result === 'failed' || o.result === 'not-run');
    if (blocked) return this.notRun(name, `upstream stage '${blocked.name}' did not complete`);
    const outcome = await this.queue.add(() => this.process(this.graph.stages.get(name) as StageSpec));
    return outcome as StageOutcome;
  }

  private notRun(name: string, why: string): StageOutcome {
    const outcome: StageOutcome = { name, result: 'not-run', seconds: 0, error: why };
    this.progress.finished(name, describe(outcome));
    return outcome;
  }

  private endInfo(stage: StageSpec, check: StageCheck, outcome: StageOutcome, extra: Partial<StageEndInfo> = {}): StageEndInfo {
    const rel = (kind: string) => stage.outs.filter((o) => o.kind === kind).map((o) => stagePath(stage, o.path));
    return {
      runId: this.runId,
      stage: stage.name,
      fingerprint: check.fingerprint,
      result: outcome.result,
      seconds: outcome.seconds,
      params: flattenParams(check.identity.params),
      metrics: rel('metrics'),
      plots: rel('plots'),
      outs: rel('out'),
      tags: {},
      ...(outcome.error ? { error: outcome.error } : {}),
      endedAt: new Date().toISOString(),
      ...extra,
    };
  }

  private commitLock(name: string, entry: LockedStage): void {
    this.lock.stages[name] = entry;
    writeLock(this.paths.lockFile, this.lock, this.graph.order);
  }

  private async process(stage: StageSpec): Promise<StageOutcome> {
    if (this.stopScheduling) return this.notRun(stage.name, this.interrupted ? 'interrupted' : 'the run stopped after a failure');
    const began = performance.now();
    const seconds = () => (performance.now() - began) / 1000;
    const locked = this.lock.stages[stage.name];
    const check = await checkStage(stage, this.spec, locked, this.state);
    if (stage.frozen) {
      const outcome: StageOutcome = { name: stage.name, result: 'skipped', seconds: 0, reasons: ['frozen'] };
      this.progress.finished(stage.name, describe(outcome));
      // Observers hear of it like any up-to-date stage, so its metrics files still reach the run's record.
      await this.notify((o) => o.stageFinished(this.endInfo(stage, check, outcome, locked?.run ? { producedByRunId: locked.run } : {})));
      return outcome;
    }
    const forced = this.options.force;
    const missingDep = [...check.deps].find(([, hash]) => hash === null);
    if (missingDep) return this.fail(stage, check, seconds(), `dep '${missingDep[0]}' does not exist`);

    if (!forced && check.upToDate) {
      const outcome: StageOutcome = { name: stage.name, result: 'skipped', seconds: seconds() };
      this.progress.finished(stage.name, describe(outcome));
      await this.notify((o) => o.stageFinished(this.endInfo(stage, check, outcome, locked?.run ? { producedByRunId: locked.run } : {})));
      return outcome;
    }
    let release: (() => void) | undefined;
    try {
      if (!forced && locked && check.restorable && (await this.available(stage, locked)) && (await this.restore(stage, locked, check.missingOuts))) {
        return this.restored(stage, check, locked, seconds());
      }
      const useRunCache = !forced && this.options.runCache && !stage.alwaysChanged;
      if (useRunCache) {
        release = await this.claim(stage, check.fingerprint);
        if (!release) return this.notRun(stage.name, 'interrupted');
      }
      const local = useRunCache ? this.runCache.get(check.fingerprint) : undefined;
      const remembered = local ?? (useRunCache && this.remote ? await withRetries(() => (this.remote as RemoteObjects).remoteRun(check.fingerprint)) : undefined);
      if (remembered && recordsDeclaredOuts(remembered, stage) && (await this.available(stage, remembered)) && (await this.restore(stage, remembered))) {
        // Only now, with every out verified in the workspace, may the lock name their hashes.
        this.commitLock(stage.name, remembered);
        if (!local) this.runCache.put(check.fingerprint, remembered);
        // Restored from this machine's own run-cache: the remote may lack it, and other machines
        // waiting on the claim look there once it is released.
        const unpublished = local ? await this.publish(stage, check.fingerprint, remembered) : undefined;
        if (unpublished) return this.fail(stage, check, seconds(), unpublished);
        return this.restored(stage, check, remembered, seconds());
      }
      return await this.execute(stage, check, check.reasons, began);
    } catch (error) {
      if (error instanceof RemoteError) return this.fail(stage, check, seconds(), `pulling from the remote failed: ${error.message}`);
      throw error;
    } finally {
      release?.();
    }
  }

  /**
   * Claims the fingerprint before looking in the run-cache, so that of several runs sharing the
   * cache (experiment trials) that reach the same stage together, one executes it and the others
   * wait and restore it. Undefined when the run was interrupted while waiting.
   */
  private async claim(stage: StageSpec, fingerprint: string): Promise<(() => void) | undefined> {
    try {
      const claimer = this.options.claimer ?? ((fp, signal, onWait) => claimFingerprint(this.paths.claims, fp, signal, onWait));
      return await claimer(fingerprint, this.abort.signal, () => this.progress.note(`… ${stage.name}: another run is executing the same stage; waiting to restore its outputs`));
    } catch (error) {
      if (this.abort.signal.aborted) return undefined;
      throw error;
    }
  }

  /**
   * Whether the entry's outs can be checked out of the local cache, after fetching what it lacks
   * from the remote with `run --pull`. A corrupted or missing remote object only means the stage runs.
   */
  private async available(stage: StageSpec, entry: LockedStage): Promise<boolean> {
    if (await cachedOutsAvailable(entry, this.cache)) return true;
    if (!this.remote) return false;
    const fetched = await this.remote.fetchOuts(hashedOuts(entry, stage.name));
    // A missing object only means nobody pushed it; a corrupted one deserves a warning.
    for (const failure of fetched.failed) if (failure.reason === 'corrupt') this.progress.note(`kd-pipeline: warning: ${stage.name}: ${failure.error}`);
    if (fetched.moved.length > 0) this.progress.note(`↓ ${stage.name}: fetched ${fetched.moved.length} objects (${formatBytes(fetched.bytes)}) from ${this.remote.remote.url}`);
    return cachedOutsAvailable(entry, this.cache);
  }

  /** With `publish`: the stage's outputs, then its run-cache entry, onto the remote; the reason when that failed. */
  private async publish(stage: StageSpec, fingerprint: string, entry: LockedStage): Promise<string | undefined> {
    if (!this.options.publish || !this.remote || stage.alwaysChanged) return undefined;
    const remote = this.remote;
    try {
      const sent = await remote.sendOuts(hashedOuts(entry, stage.name));
      if (sent.failed.length === 0) sent.failed = (await remote.moveRuns('push', [fingerprint])).failed;
      const failure = sent.failed[0];
      return failure ? `pushing its outputs to ${remote.remote.url} failed: ${failure.error}` : undefined;
    } catch (error) {
      if (error instanceof RemoteError) return `pushing its outputs to ${remote.remote.url} failed: ${error.message}`;
      throw error;
    }
  }

  /**
   * Checks the entry's outs out of the cache; false when an object turned out corrupt (it is
   * quarantined, and the stage runs instead: a warning says so in one line).
   */
  private async restore(stage: StageSpec, entry: LockedStage, only?: string[]): Promise<boolean> {
    try {
      await restoreOuts(this.spec.root, entry, this.cache, only);
      return true;
    } catch (error) {
      if (!(error instanceof CorruptCacheObjectError)) throw error;
      this.progress.note(`kd-pipeline: warning: stage ${stage.name}: ${error.describe(this.spec.root)}; running the stage instead`);
      return false;
    }
  }

  private async restored(stage: StageSpec, check: StageCheck, entry: LockedStage, secs: number): Promise<StageOutcome> {
    const outcome: StageOutcome = { name: stage.name, result: 'restored', seconds: secs };
    this.progress.finished(stage.name, describe(outcome, entry.run));
    await this.notify((o) => o.stageFinished(this.endInfo(stage, check, outcome, entry.run ? { producedByRunId: entry.run } : {})));
    return outcome;
  }

  private async fail(stage: StageSpec, check: StageCheck, secs: number, error: string, extra: Partial<StageEndInfo> = {}): Promise<StageOutcome> {
    if (!this.options.keepGoing) this.stopScheduling = true;
    const outcome: StageOutcome = { name: stage.name, result: 'failed', seconds: secs, error };
    this.progress.finished(stage.name, describe(outcome));
    await this.notify((o) => o.stageFinished(this.endInfo(stage, check, outcome, extra)));
    return outcome;
  }

  private async execute(stage: StageSpec, check: StageCheck, reasons: string[], began: number): Promise<StageOutcome> {
    const seconds = () => (performance.now() - began) / 1000;
    const why = this.options.force ? 'forced' : reasons.join('; ');
    this.progress.started(stage.name);
    if (why) this.progress.note(`  ${stage.name}: ${why}`);
    await this.notify((o) =>
      o.stageStarted({
        runId: this.runId,
        stage: stage.name,
        fingerprint: check.fingerprint,
        cmd: stage.cmd,
        params: flattenParams(check.identity.params),
        startedAt: new Date().toISOString(),
      }),
    );
    await prepareOuts(this.spec.root, stage);
    const logFile = path.join(this.paths.logs, stage.name, `${this.runId}.log`);
    const tagsFile = path.join(this.paths.tmp, `${this.runId}-${stage.name}.tags`);
    mkdirSync(this.paths.tmp, { recursive: true });
    const result = await executeCommand({
      cmd: stage.cmd,
      cwd: path.join(this.spec.root, stage.wdir),
      root: this.spec.root,
      env: { KD_RUN_ID: this.runId, KD_STAGE: stage.name, [STAGE_TAGS_ENV]: tagsFile },
      logFile,
      onLine: (line) => this.progress.stageOutput(stage.name, line),
      signal: this.abort.signal,
    });
    const tags = readStageTags(tagsFile, (message) => this.progress.note(`kd-pipeline: warning: stage '${stage.name}': ${message}`));
    const extra = { logFile: relPath(this.spec.root, logFile), tags };
    if (!result.ok) {
      const tail = result.tail.length > 0 ? `\n  last lines of ${extra.logFile}:\n${result.tail.map((l) => `    ${l}`).join('\n')}` : '';
      return this.fail(stage, check, seconds(), `${this.interrupted ? 'interrupted' : result.failure}${tail}`, extra);
    }
    let entry: LockedStage;
    try {
      entry = await commitStage(this.spec.root, stage, check, this.cache, this.state, this.runId);
    } catch (error) {
      if (error instanceof StageOutError) return this.fail(stage, check, seconds(), error.message, extra);
      throw error;
    }
    this.commitLock(stage.name, entry);
    if (!stage.alwaysChanged) this.runCache.put(check.fingerprint, entry);
    this.state.checkpoint();
    const unpublished = await this.publish(stage, check.fingerprint, entry);
    if (unpublished) return this.fail(stage, check, seconds(), unpublished, extra);
    const outcome: StageOutcome = { name: stage.name, result: 'ran', seconds: seconds() };
    this.progress.finished(stage.name, describe(outcome));
    await this.notify((o) => o.stageFinished(this.endInfo(stage, check, outcome, extra)));
    return outcome;
  }
}

/** `{params.yaml: {student: {...}}}` → `{ 'student.temperature': 4, … }` for tracking. */
function flattenParams(params: Record<string, Record<string, unknown>>): Record<string, unknown> {
  return Object.assign({}, ...Object.values(params).map(paramLeaves)) as Record<string, unknown>;
}

/** Tells every observer; a failing observer (tracking) warns and never fails the run. */
async function notifyObservers(observers: PipelineObserver[], progress: Progress, call: (observer: PipelineObserver) => void | Promise<void>): Promise<void> {
  await Promise.all(
    observers.map(async (observer) => {
      try {
        await call(observer);
      } catch (error) {
        progress.note(`kd-pipeline: warning: tracking: ${(error as Error).message}`);
      }
    }),
  );
}

/** `run --pull`: the remote, checked before any stage starts (a bad remote fails the run at once). */
async function pullSource(root: string, name: string | undefined): Promise<RemoteObjects> {
  const { openRemote, DEFAULT_JOBS } = await import('./remote/open.js');
  const { store } = await openRemote(root, name, DEFAULT_JOBS);
  return new RemoteObjects(ContentCache.of(projectPaths(root)), store, { jobs: DEFAULT_JOBS });
}

/** Runs the pipeline (or the selected part of it) and reports every stage's outcome. */
export async function runPipeline(options: RunOptions): Promise<RunReport> {
  const began = performance.now();
  const root = findProjectRoot(options.cwd);
  const paths = projectPaths(root);
  const release = await acquireRunLock(paths.runLock, { wait: options.wait });
  makeKdDir(paths);
  const progress = new Progress(options.progressOut);
  try {
    applyParamOverrides(root, options.set);
    const spec = loadPipeline(root);
    const graph = buildGraph(spec);
    const selected = selectStages(graph, options.targets, options);
    const remote = options.pull ? await pullSource(root, options.remote) : undefined;
    const observers = await options.observers(root);
    const run = new PipelineRun(spec, graph, selected, options, observers, progress, remote);
    const onSignal = (signal: NodeJS.Signals): void => run.interrupt(signal);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const onAbort = (): void => run.interrupt('SIGINT');
    options.signal?.addEventListener('abort', onAbort);
    if (options.signal?.aborted) onAbort();
    const notifyAll = (call: (o: PipelineObserver) => void | Promise<void>) => notifyObservers(observers, progress, call);
    const commit = gitCommit(root);
    try {
      await notifyAll((o) =>
        o.runStarted({
          runId: run.runId,
          root,
          startedAt: new Date().toISOString(),
          user: os.userInfo().username,
          ...(commit ? { gitCommit: commit } : {}),
          pipelineFingerprint: objectHash({ stages: spec.stages, params: spec.paramsFiles }, { algorithm: 'md5' }),
          params: spec.paramsFiles['params.yaml'] ?? {},
          argv: options.argv,
          ...(options.parentRunId ? { parentRunId: options.parentRunId } : {}),
          ...(options.runName ? { runName: options.runName } : {}),
          ...(options.runTags ? { tags: options.runTags } : {}),
        }),
      );
      const stages = await run.run();
      const failed = stages.filter((s) => s.result === 'failed');
      const status = run.interrupted ? 'KILLED' : failed.length > 0 ? 'FAILED' : 'FINISHED';
      await notifyAll((o) => o.runFinished({ runId: run.runId, status, endedAt: new Date().toISOString() }));
      progress.close();
      for (const observer of observers) await observer.close().catch((error: Error) => progress.note(`kd-pipeline: warning: tracking: ${error.message}`));
      return { runId: run.runId, stages, failed, interrupted: run.interrupted, ...(run.signal ? { signal: run.signal } : {}), seconds: (performance.now() - began) / 1000 };
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      options.signal?.removeEventListener('abort', onAbort);
    }
  } finally {
    progress.close();
    release();
  }
}
