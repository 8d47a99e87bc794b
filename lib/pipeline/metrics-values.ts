import path from 'node:path';
import { KdError } from '../errors.js';
import { readTextIfExists } from '../read-file.js';
import { stagePath } from './graph.js';
import { findProjectRoot, loadPipeline } from './spec.js';

/** Flattens a metrics JSON file's numbers to dotted keys (`{"student":{"accuracy":0.9}}` → `student.accuracy`). */
export function flattenNumbers(value: unknown, prefix = '', into: Record<string, number> = {}): Record<string, number> {
  if (typeof value === 'number' && Number.isFinite(value)) into[prefix] = value;
  else if (typeof value === 'boolean') into[prefix] = value ? 1 : 0;
  else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) flattenNumbers(inner, prefix ? `${prefix}.${key}` : key, into);
  }
  return into;
}

/**
 * The numeric values of a metrics file, or null when it is absent. A file that cannot be read or
 * is not JSON is an error naming it (`label`) and the reason, never silently no metrics.
 */
export function readMetricsFile(file: string, label = file): Record<string, number> | null {
  const text = readTextIfExists(file, label);
  if (text === null) return null;
  try {
    return flattenNumbers(JSON.parse(text));
  } catch (error) {
    throw new KdError(`metrics file ${label} is not valid JSON (${(error as Error).message})`);
  }
}

/** Metrics file → dotted key → number. */
export type MetricsByFile = Record<string, Record<string, number>>;

/** The numbers in every metrics file the stages declare, as they are in the workspace now. */
export function workspaceMetrics(cwd: string): { root: string; metrics: MetricsByFile } {
  const root = findProjectRoot(cwd);
  const spec = loadPipeline(root);
  const metrics: MetricsByFile = {};
  for (const stage of spec.stages) {
    for (const out of stage.outs.filter((o) => o.kind === 'metrics')) {
      const rel = stagePath(stage, out.path);
      const values = readMetricsFile(path.join(root, rel), rel);
      if (values) metrics[rel] = values;
    }
  }
  return { root, metrics };
}

/**
 * One flat map of every metrics file's numbers under the keys `metrics show` prints
 * (`student.accuracy`); a key found in several files is qualified by its file
 * (`artifacts/metrics/teacher.json/val_accuracy`, a form MLflow accepts as a metric name).
 */
export function flatMetrics(byFile: MetricsByFile): Record<string, number> {
  const files = new Map<string, number>();
  for (const values of Object.values(byFile)) for (const key of Object.keys(values)) files.set(key, (files.get(key) ?? 0) + 1);
  const flat: Record<string, number> = {};
  for (const [file, values] of Object.entries(byFile)) {
    for (const [key, value] of Object.entries(values)) flat[(files.get(key) ?? 0) > 1 ? `${file}/${key}` : key] = value;
  }
  return flat;
}
