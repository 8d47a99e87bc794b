// What the pipeline benches share: a temp copy of the project as a clean clone has it after
// `npm install && npm run setup`, params.yaml overrides, and a timed `kd-pipeline run --json`.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { timed } from '../timing.mjs';

export const REPO = path.resolve(import.meta.dirname, '../..');
export const CLI = path.join(REPO, 'bin/kd-pipeline.js');
/** params.yaml overrides that make a run of the default pipeline take seconds (the sweep and queue benches' `--tiny`). */
export const TINY = ['teacher.transformer.head.train.epochs=5', 'text.max_len=16', 'vocab.encoder_words=300', 'student.model.embedding_dim=4', 'student.train.epochs=2', 'student.train_by_size.tiny.epochs=2', 'soft_labels.augment.copies=1', 'evaluate.latency_runs=5', 'evaluate.throughput_batch=16'];
export const STAGES = ['encoder', 'preprocess', 'build-vocab', 'train-teacher', 'generate-soft-labels', 'train-student', 'train-baseline', 'evaluate-teacher', 'evaluate', 'export'];

/** Prints `bench:<name>: message` and exits 1. */
export function failer(name) {
  return (message) => {
    process.stderr.write(`bench:${name}: ${message}\n`);
    process.exit(1);
  };
}

/** The repo's params.yaml as an object. */
export function repoParams(repo = REPO) {
  return parse(readFileSync(path.join(repo, 'params.yaml'), 'utf8'));
}

/** Sets one params.yaml value of the project at `root` (`keys`: its path, e.g. ['student', 'size']). */
export function setParam(root, keys, value) {
  const file = path.join(root, 'params.yaml');
  const p = parse(readFileSync(file, 'utf8'));
  keys.slice(0, -1).reduce((node, key) => node[key], p)[keys.at(-1)] = value;
  writeFileSync(file, stringify(p));
}

/** Applies `key.path=value` entries (value parsed as YAML) to params object `p`, in place; fails on a missing section. */
export function applySets(p, entries, fail) {
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq < 1) fail(`--set ${entry}: expected key=value`);
    const keys = entry.slice(0, eq).split('.');
    let node = p;
    for (const key of keys.slice(0, -1)) {
      if (typeof node[key] !== 'object' || node[key] === null) fail(`--set ${entry}: params.yaml has no section ${key}`);
      node = node[key];
    }
    node[keys.at(-1)] = parse(entry.slice(eq + 1));
  }
  return p;
}

// No tracking server and no embedding cache shared between projects: every copy encodes from scratch.
const env = { ...process.env };
delete env.MLFLOW_TRACKING_URI;
delete env.KD_EMBEDDING_CACHE;

/**
 * `kd-pipeline run --json` in `root` with `cli`, timed: wall seconds, and CPU seconds of the whole
 * process tree when GNU time is installed (NaN otherwise); fails the bench (keeping the project) when the run fails.
 */
export function timedRun(cli, root, what, fail) {
  const result = timed(['node', cli, 'run', '--json'], { cwd: root, encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 });
  const [wall, cpu] = [result.seconds, result.cpu];
  if (result.status !== 0) fail(`${what}: kd-pipeline run failed (project kept in ${root}):\n${result.stderr.split('\n').slice(-30).join('\n')}`);
  const seconds = Object.fromEntries(JSON.parse(result.stdout).stages.map((s) => [s.name, s.seconds]));
  const backend = /on (tensorflow|cpu)[,:]/.exec(result.stderr)?.[1] ?? 'unknown';
  return { wall, cpu, seconds, backend, stderr: result.stderr };
}

/** A fresh temp copy of `repo`'s project files (pipeline.yaml, pipeline.lock, data/, models/encoder; no .kd/ cache) with `paramsText` as params.yaml. */
export function freshCopy(repo, label, paramsText) {
  const root = mkdtempSync(path.join(tmpdir(), `kd-bench-${label}-`));
  for (const rel of ['pipeline.yaml', 'pipeline.lock', 'data']) cpSync(path.join(repo, rel), path.join(root, rel), { recursive: true });
  cpSync(path.join(REPO, 'models/encoder'), path.join(root, 'models/encoder'), { recursive: true });
  writeFileSync(path.join(root, 'params.yaml'), paramsText);
  return root;
}

/** The run's artifacts/metrics.json. */
export function readMetrics(root) {
  return JSON.parse(readFileSync(path.join(root, 'artifacts/metrics.json'), 'utf8'));
}

/** Sample mean and sd. */
export function meanSd(values) {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = values.length > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1)) : 0;
  return { mean, sd };
}
