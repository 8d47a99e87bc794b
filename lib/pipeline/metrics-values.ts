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
 * The name a metrics file gives its keys in one flat map: its file name without `.json`
 * (`artifacts/metrics/teacher.json` → `teacher`), or none for a file named `metrics.json` (the
 * headline file, whose keys already say what they measure: `student.accuracy`).
 */
export function metricsFileQualifier(file: string): string {
  const stem = path.basename(file).replace(/\.json$/i, '');
  return stem === 'metrics' ? '' : stem;
}

/**
 * One flat map of every metrics file's numbers, under keys that depend only on the file and the
 * key, never on which other files a run touched: `teacher/val_accuracy` for `val_accuracy` in
 * `artifacts/metrics/teacher.json`, `student.accuracy` in `metrics.json`. These are the keys of
 * `exp show` and of MLflow's pipeline, trial and stage runs alike. Two files with the same name in
 * different folders keep their whole path (`eval/scores.json/f1`) so that neither hides the other.
 */
export function flatMetrics(byFile: MetricsByFile): Record<string, number> {
  const qualifiers = Object.keys(byFile).map(metricsFileQualifier);
  const flat: Record<string, number> = {};
  for (const [file, values] of Object.entries(byFile)) {
    const own = metricsFileQualifier(file);
    const qualifier = qualifiers.filter((q) => q === own).length > 1 ? file : own;
    for (const [key, value] of Object.entries(values)) flat[qualifier ? `${qualifier}/${key}` : key] = value;
  }
  return flat;
}
