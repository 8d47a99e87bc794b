import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { KdError } from '../../errors.js';
import { parseOrThrow } from '../../validation.js';

/** Marks a teacher member directory as a transformer member and says how to rebuild its inputs. */
export const TRANSFORMER_JSON = 'transformer.json';

const memberSchema = z.strictObject({
  kind: z.literal('transformer'),
  model: z.string(),
  dtype: z.string(),
  pooling: z.enum(['mean', 'cls']),
  max_tokens: z.number().int().positive(),
  /** Absent in members trained before windows existed: those read the first max_tokens pieces. */
  long_text: z.enum(['truncate', 'windows']).default('truncate'),
  window_overlap: z.number().int().nonnegative().default(0),
  head: z.enum(['logistic', 'hidden', 'model']),
  /** The encoder folder's fingerprint when the member was trained: the member only fits that encoder. */
  encoder_fingerprint: z.string(),
  encoder_params: z.number().int().nonnegative(),
  /** head `model`: for each data label, the column of the model's own logits that holds it. */
  label_columns: z.array(z.number().int().nonnegative()).optional(),
});
export type TransformerMemberInfo = z.infer<typeof memberSchema>;

export function isTransformerMember(dir: string): boolean {
  return existsSync(path.join(dir, TRANSFORMER_JSON));
}

export function readTransformerMember(dir: string): TransformerMemberInfo {
  const file = path.join(dir, TRANSFORMER_JSON);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new KdError(`${file}: ${(error as Error).message}`);
  }
  return parseOrThrow(memberSchema, raw, file);
}

