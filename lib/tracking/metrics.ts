import { readTextIfExistsAsync } from '../read-file.js';
import { basename, join } from 'node:path';
import { flattenNumbers } from '../pipeline/metrics-values.js';
import type { MetricPoint } from './journal.js';

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

/**
 * Per-epoch history from plots files, one point per row and key, under `plots/` and the plots
 * file's name (`plots/student-history/val_accuracy` from `artifacts/plots/student-history.json`).
 * The curves keep names of their own so that the runs table's value of `student/val_accuracy` is
 * the metrics file's (best-epoch) value, not whichever epoch came last.
 */
export async function collectHistory(root: string, plotsFiles: string[], warn: (message: string) => void): Promise<MetricPoint[]> {
  const points: MetricPoint[] = [];
  for (const file of plotsFiles) {
    const rows = await readJson(root, file, warn);
    if (!Array.isArray(rows)) continue;
    const curve = basename(file).replace(/\.json$/i, '');
    rows.forEach((row, i) => {
      const flat = flattenNumbers(row);
      const step = flat.epoch ?? flat.step ?? i;
      for (const [key, value] of Object.entries(flat)) {
        if (key !== 'epoch' && key !== 'step') points.push({ key: `plots/${curve}/${key}`, value, step });
      }
    });
  }
  return points;
}
