import type { ZodError } from 'zod';
import { KdError } from './errors.js';

/** A dotted path such as `stages.train.cmd` or `outs[2].cache` for one zod issue. */
export function issuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/**
 * Turns a zod failure into one message naming the file (and, where known, the key) at fault,
 * e.g. `params.yaml: student.temperature: expected number, received string`.
 */
export function formatZodError(error: ZodError, source: string, prefix: readonly PropertyKey[] = []): string {
  const lines = error.issues.map((issue) => {
    const key = issuePath([...prefix, ...issue.path]);
    return key === '' ? `${source}: ${issue.message}` : `${source}: ${key}: ${issue.message}`;
  });
  return lines.join('\n');
}

/** Parses `value` with `schema`, or throws a KdError naming `source` and the key at fault. */
export function parseOrThrow<T>(
  schema: { safeParse(value: unknown): { success: true; data: T } | { success: false; error: ZodError } },
  value: unknown,
  source: string,
  prefix: readonly PropertyKey[] = [],
): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new KdError(formatZodError(result.error, source, prefix));
}
