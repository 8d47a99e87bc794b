import { readFile } from 'node:fs/promises';
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

async function readJson(root: string, file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(join(root, file), 'utf8'));
  } catch {
    return undefined; // a stage that failed may not have written it
  }
}

/** Final metrics (step 0) from metrics files and per-epoch history from plots files. */
export async function collectMetrics(root: string, metricsFiles: string[], plotsFiles: string[]): Promise<MetricPoint[]> {
  const points: MetricPoint[] = [];
  for (const file of metricsFiles) {
    for (const [key, value] of Object.entries(flattenNumbers(await readJson(root, file)))) points.push({ key, value, step: 0 });
  }
  for (const file of plotsFiles) {
    const rows = await readJson(root, file);
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
