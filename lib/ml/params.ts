import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { KdError } from '../errors.js';
import { parseOrThrow } from '../validation.js';

/**
 * The ML sections of params.yaml. Every section is strict, so a typo such as `student.temprature`
 * is an error naming the key instead of a silently ignored setting.
 */
const trainSchema = z.strictObject({
  epochs: z.number().int().positive(),
  batch_size: z.number().int().positive(),
  learning_rate: z.number().positive(),
  warmup_epochs: z.number().int().nonnegative().default(0),
  decay: z.enum(['cosine', 'none']).default('none'),
  patience: z.number().int().positive().default(3),
});

const fraction = z.number().min(0).max(0.9);

export const mlParamsSchema = z.object({
  seed: z.number().int().nonnegative(),
  data: z.strictObject({
    path: z.string().min(1),
    format: z.enum(['auto', 'csv', 'jsonl']).default('auto'),
    text_column: z.string().min(1).default('text'),
    label_column: z.string().min(1).default('label'),
    split: z.strictObject({ val: fraction, test: fraction }),
  }),
  text: z.strictObject({
    lowercase: z.boolean().default(true),
    strip_accents: z.boolean().default(false),
    max_len: z.number().int().positive(),
  }),
  vocab: z.strictObject({
    min_freq: z.number().int().positive().default(1),
    max_size: z.number().int().min(3),
  }),
  teacher: z.strictObject({
    members: z.array(z.enum(['cnn', 'bilstm'])).min(1),
    embedding_dim: z.number().int().positive(),
    cnn: z.strictObject({
      filters: z.number().int().positive(),
      kernel_sizes: z.array(z.number().int().positive()).min(1),
    }),
    bilstm: z.strictObject({ units: z.number().int().positive() }),
    hidden: z.number().int().nonnegative(),
    dropout: z.number().min(0).max(0.95),
    train: trainSchema,
  }),
  soft_labels: z.strictObject({
    augment: z.strictObject({
      copies: z.number().int().nonnegative(),
      mask_prob: z.number().min(0).max(1),
      dropout_prob: z.number().min(0).max(1),
      ngram_prob: z.number().min(0).max(1),
    }),
  }),
  student: z.strictObject({
    model: z.strictObject({
      arch: z.enum(['pool', 'cnn']),
      embedding_dim: z.number().int().positive(),
      hidden: z.number().int().nonnegative(),
    }),
    train: trainSchema,
    temperature: z.number().positive(),
    alpha: z.number().min(0).max(1),
    loss: z.enum(['kl', 'mse']),
  }),
  evaluate: z.strictObject({
    latency_runs: z.number().int().positive(),
    throughput_batch: z.number().int().positive(),
  }),
  export: z.strictObject({
    quantize: z.array(z.enum(['float16', 'uint8'])),
  }),
});

export type MlParams = z.infer<typeof mlParamsSchema>;
export type TrainParams = z.infer<typeof trainSchema>;

/** Reads and validates `<root>/params.yaml` (what every ML stage calls first). */
export function loadMlParams(root: string): MlParams {
  const file = path.join(root, 'params.yaml');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new KdError(`params.yaml not found in ${root}`);
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    throw new KdError(`params.yaml: ${(error as Error).message}`);
  }
  return parseOrThrow(mlParamsSchema, raw, 'params.yaml');
}
