import { z } from 'zod';
import { KdError } from '../errors.js';
import { checkVariant, RUNTIMES, VARIANTS } from './export-bundle.js';

const int = (min: number) => z.coerce.number().int().min(min);
const ms = (min: number) => z.coerce.number().int().min(min, `must be at least ${min} (milliseconds)`);

// commander hands flag values over as strings; zod turns them into numbers or names the flag at fault.
const flagsSchema = z.object({
  model: z.string().min(1),
  variant: z.enum(VARIANTS).optional(),
  runtime: z.enum(RUNTIMES),
  host: z.string().min(1),
  port: int(0).max(65535),
  maxBatch: int(1),
  batchWaitMs: z.coerce.number().min(0).max(5),
  maxQueue: int(1),
  maxTextChars: int(1),
  maxBatchTexts: int(1),
  maxBodyBytes: int(64),
  watch: z.boolean(),
  watchIntervalMs: int(50),
  // Milliseconds, like Node's own settings; under 100 is more likely seconds typed by mistake.
  requestTimeout: ms(100),
  headersTimeout: ms(100),
  maxConnections: int(1),
  json: z.boolean().default(false),
});

export type ServeFlags = z.infer<typeof flagsSchema>;

/** Validates the options of `kd-pipeline serve`, or throws one KdError naming the flag (exit code 2). */
export function parseServeFlags(raw: Record<string, unknown>): ServeFlags {
  const result = flagsSchema.safeParse(raw);
  if (result.success) {
    checkVariant(result.data.runtime, result.data.variant ?? null, 'serve');
    if (result.data.maxQueue < result.data.maxBatchTexts) {
      throw new KdError(`serve: --max-queue ${result.data.maxQueue} must be at least --max-batch-texts ${result.data.maxBatchTexts}, or a full batch request could never be queued`, 2);
    }
    if (result.data.headersTimeout > result.data.requestTimeout) {
      throw new KdError(`serve: --headers-timeout ${result.data.headersTimeout} must be at most --request-timeout ${result.data.requestTimeout}: the headers are part of the request`, 2);
    }
    return result.data;
  }
  const issue = result.error.issues[0]!;
  const key = String(issue.path[0] ?? '');
  const flag = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  throw new KdError(`serve: --${flag} ${JSON.stringify(raw[key])}: ${issue.message}`, 2);
}
