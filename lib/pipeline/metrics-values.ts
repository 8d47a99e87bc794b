import { readFileSync } from 'node:fs';

/** Flattens a metrics JSON file's numbers to dotted keys (`{"student":{"accuracy":0.9}}` → `student.accuracy`). */
export function flattenNumbers(value: unknown, prefix = '', into: Record<string, number> = {}): Record<string, number> {
  if (typeof value === 'number' && Number.isFinite(value)) into[prefix] = value;
  else if (typeof value === 'boolean') into[prefix] = value ? 1 : 0;
  else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) flattenNumbers(inner, prefix ? `${prefix}.${key}` : key, into);
  }
  return into;
}

/** The numeric values of a metrics file, or null when it is absent or not JSON. */
export function readMetricsFile(file: string): Record<string, number> | null {
  try {
    return flattenNumbers(JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    return null;
  }
}
