import { z } from 'zod';
import { parseOrThrow } from '../validation.js';

const transferFlags = z.object({
  remote: z.string().min(1).optional(),
  jobs: z.coerce.number().int().min(1, 'must be at least 1').optional(),
  runCache: z.boolean().default(true),
  json: z.boolean().default(false),
  wait: z.boolean().default(false),
});

export type TransferFlags = z.infer<typeof transferFlags>;

/** The flags push and pull share, validated. */
export function parseTransferFlags(raw: Record<string, unknown>, command: string): TransferFlags {
  return parseOrThrow(transferFlags, raw, `kd-pipeline ${command}`);
}

/** Failed objects, one line each, on stderr (the remote's key says which object). */
export function reportFailures(command: string, failed: { error: string }[]): void {
  for (const failure of failed) process.stderr.write(`kd-pipeline: error: ${command}: ${failure.error}\n`);
  if (failed.length > 0) process.stderr.write(`kd-pipeline: error: ${command}: ${failed.length} object${failed.length === 1 ? '' : 's'} could not be moved; the rest was, and running the command again retries only what is missing\n`);
}
