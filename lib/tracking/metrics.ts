import { readTextIfExistsAsync } from '../read-file.js';
import { join } from 'node:path';
import type { MetricPoint } from './journal.js';

/** Nested JSON of numbers → dotted keys (`test.accuracy`); non-numbers are ignored. */
export function flattenNumbers(value: unknown, prefix = '', out: Record<string, number> = {}): Record<string, number> {
  if (typeof value === 'number' && Number.isFinite(value)) out[prefix] = value;
  else if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flattenNumbers(v, prefix ? `${prefix}.${k}` : k, out);
  }
  return out;
}

/** The file's JSON; undefined when absent (a stage that failed may not have written it) or, with a warning naming it, bad. */
async function readJson(root: string, file: string, warn: (message: string) => void): Promise<unknown> {
  try {
    const text = await readTextIfExistsAsync(join(root, file), file);
    return text === null ? undefined : JSON.parse(text);
  } catch (error) {
    warn(`${file}: ${error instanceof SyntaxError ? `not valid JSON (${error.message})` : (error as Error).message}; its metrics are not logged`);
    return undefined;
  }
}

/** Final metrics (step 0) from metrics files and per-epoch history from plots files. */
export async function collectMetrics(root: string, metricsFiles: string[], plotsFiles: string[], warn: (message: string) => void): Promise<MetricPoint[]> {
  const points: MetricPoint[] = [];
  for (const file of metricsFiles) {
    for (const [key, value] of Object.entries(flattenNumbers(await readJson(root, file, warn)))) points.push({ key, value, step: 0 });
  }
  for (const file of plotsFiles) {
    const rows = await readJson(root, file, warn);
    if (!Array.isArray(rows)) continue;
    rows.forEach((row, i) => {
      const flat = flattenNumbers(row);
      const step = flat.epoch ?? flat.step ?? i;
      for (const [key, value] of Object.entries(flat)) {
        if (key !== 'epoch' && key !== 'step') points.push({ key, value, step });
      }
    });
  }
  return points;
}
