/**
 * What the engine tells observers (MLflow tracking, progress display) about one `kd-pipeline run`.
 * The engine knows nothing about MLflow; lib/tracking implements PipelineObserver.
 * All paths are relative to the project root, with forward slashes.
 */

export type StageResult = 'ran' | 'skipped' | 'restored' | 'failed' | 'not-run';

export interface RunStartInfo {
  /** Unique id of this `kd-pipeline run` invocation (also recorded in the lock/run-cache). */
  runId: string;
  root: string;
  startedAt: string; // ISO time
  user: string;
  gitCommit?: string;
  /** Hash over every stage fingerprint of the pipeline as it is about to run. */
  pipelineFingerprint: string;
  /** The whole params.yaml as loaded (after --set overrides). */
  params: Record<string, unknown>;
  argv: string[];
  /** The runId of the run this one is nested under (an experiment sweep). */
  parentRunId?: string;
  /** A name for the run in MLflow (default: `pipeline <startedAt>`). */
  runName?: string;
  /** Extra tags for the run (e.g. kd.sweep, kd.trial). */
  tags?: Record<string, string>;
}

export interface StageStartInfo {
  runId: string;
  stage: string;
  fingerprint: string;
  /** cmd after ${...} interpolation (a list cmd joined with ' && '). */
  cmd: string;
  /** Values of exactly the params keys the stage declares, flattened to dotted keys. */
  params: Record<string, unknown>;
  startedAt: string;
}

export interface StageEndInfo {
  runId: string;
  stage: string;
  fingerprint: string;
  result: StageResult;
  seconds: number;
  params: Record<string, unknown>;
  /** Declared metrics files (flat or nested JSON of numbers). */
  metrics: string[];
  /** Declared plots files (for training curves: a JSON array of rows with an `epoch` or `step` field). */
  plots: string[];
  /** Declared outs (files or directories). */
  outs: string[];
  /** The log of this stage run (stdout+stderr), when it executed. */
  logFile?: string;
  /** For skipped/restored stages: the runId that originally produced the outputs. */
  producedByRunId?: string;
  /** key=value tags the stage process reported through KD_STAGE_TAGS (see stage-tags.ts). */
  tags: Record<string, string>;
  /** For failed stages: a short reason. */
  error?: string;
  endedAt: string;
}

export interface RunEndInfo {
  runId: string;
  status: 'FINISHED' | 'FAILED' | 'KILLED';
  endedAt: string;
}

export interface PipelineObserver {
  runStarted(info: RunStartInfo): void | Promise<void>;
  stageStarted(info: StageStartInfo): void | Promise<void>;
  stageFinished(info: StageEndInfo): void | Promise<void>;
  runFinished(info: RunEndInfo): void | Promise<void>;
  /** Flushes pending work (e.g. MLflow delivery) before the process exits. */
  close(): Promise<void>;
}
