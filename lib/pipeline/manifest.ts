import { z } from 'zod';
import { KdError } from '../errors.js';
import type { ManifestEntry } from './hashing.js';

const manifestSchema = z.array(
  z.strictObject({
    path: z.string().min(1),
    hash: z.string().min(1),
    size: z.number().int().nonnegative(),
    isexec: z.literal(true).optional(),
  }),
);

/** A `.dir` manifest whose bytes are not a valid manifest: the files it names are unknown. */
export class CorruptManifestError extends KdError {}

/** A directory manifest's JSON text, checked; `source` (its path or key) names it in the error. */
export function parseManifest(text: string, source: string): ManifestEntry[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new CorruptManifestError(`${source}: corrupt directory manifest (${(error as Error).message})`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CorruptManifestError(`${source}: corrupt directory manifest (${issue?.path.join('.') || 'top'}: ${issue?.message})`);
  }
  return parsed.data as ManifestEntry[];
}
