import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import PQueue from 'p-queue';
import { withRetries } from './retry.js';
import { CorruptObjectError, expectedMd5, ObjectMissingError, TransientError, type ObjectStore } from './store.js';
import type { TransferProgress } from './transfer-progress.js';

export interface TransferItem {
  key: string;
  /** Bytes, where known (an S3 destination needs it). */
  size: number;
}

export interface FailedObject {
  key: string;
  /** Not at the source, or its bytes do not hash to its key. */
  reason: 'missing' | 'corrupt';
  error: string;
}

export interface TransferResult {
  moved: string[];
  skipped: string[];
  bytes: number;
  failed: FailedObject[];
}

export interface TransferOptions {
  jobs: number;
  /** Hash what arrives and refuse an object whose content does not match its key (downloads). */
  verify: boolean;
  progress?: TransferProgress;
  /** Checks an object before it is sent (uploads: the local copy must match its name); a failure skips it. */
  check?: (key: string) => Promise<FailedObject | null>;
  /** Keys to send even though the destination has them: its copies are known to be corrupt. */
  overwrite?: Set<string>;
}

export function emptyResult(): TransferResult {
  return { moved: [], skipped: [], bytes: 0, failed: [] };
}

export function addResults(into: TransferResult, more: TransferResult): TransferResult {
  into.moved.push(...more.moved);
  into.skipped.push(...more.skipped);
  into.bytes += more.bytes;
  into.failed.push(...more.failed);
  return into;
}

/**
 * The object's bytes on their way from `source` to the destination, counted for the progress line
 * and, with `md5`, hashed: a mismatch fails the stream before its end, so nothing is committed.
 * A source that breaks off (a connection reset) fails it with a TransientError, to be retried.
 */
function passThrough(source: Readable, key: string, md5: string | undefined, where: string, count: (bytes: number) => void): Transform {
  const hash = md5 ? createHash('md5') : undefined;
  const through = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash?.update(chunk);
      count(chunk.length);
      done(null, chunk);
    },
    flush(done) {
      const actual = hash?.digest('hex');
      done(actual === md5 ? null : new CorruptObjectError(key, actual ?? '', where));
    },
  });
  source.on('error', (error) => through.destroy(new TransientError(`${where}: reading ${key} broke off: ${error.message}`)));
  // A destination that gives up half-way (a cut upload) must not leave the source open.
  through.on('close', () => {
    if (!source.readableEnded) source.destroy();
  });
  return source.pipe(through);
}

/**
 * Copies the items that `destination` lacks from `source`, `jobs` at a time. Each object goes in
 * whole or not at all (the stores write atomically), so an interrupted transfer resumes where it
 * stopped and two transfers of the same objects at once are harmless. Transient failures are
 * retried with back-off; a missing or corrupted object is reported in `failed`; an error that makes
 * the store unusable (RemoteError) stops the transfer and is thrown.
 */
export async function transfer(source: ObjectStore, destination: ObjectStore, items: TransferItem[], options: TransferOptions): Promise<TransferResult> {
  const result = emptyResult();
  const unique = [...new Map(items.map((item) => [item.key, item])).values()];
  if (unique.length === 0) return result;
  const found = await withRetries(() => destination.has(unique.map((item) => item.key)));
  const present = new Set([...found].filter((key) => !options.overwrite?.has(key)));
  const missing = unique.filter((item) => !present.has(item.key));
  result.skipped = unique.filter((item) => present.has(item.key)).map((item) => item.key);
  options.progress?.add(missing.length, missing.reduce((sum, item) => sum + item.size, 0), result.skipped.length);

  const queue = new PQueue({ concurrency: Math.max(1, options.jobs) });
  let fatal: unknown;
  const copy = async (item: TransferItem): Promise<void> => {
    let sent = 0;
    const count = (bytes: number): void => {
      sent += bytes;
      options.progress?.bytes(bytes);
    };
    try {
      const bad = await options.check?.(item.key);
      if (bad) {
        result.failed.push(bad);
        options.progress?.done();
        return;
      }
      await withRetries(async () => {
        options.progress?.bytes(-sent);
        sent = 0;
        const md5 = expectedMd5(item.key);
        const open = async (): Promise<Readable> => {
          const body = await source.get(item.key);
          return passThrough(body, item.key, options.verify ? md5 : undefined, source.url, count);
        };
        await destination.put(item.key, open, item.size, md5);
      });
      result.moved.push(item.key);
      result.bytes += sent;
      options.progress?.done();
    } catch (error) {
      if (error instanceof ObjectMissingError || error instanceof CorruptObjectError) {
        result.failed.push({ key: item.key, reason: error instanceof CorruptObjectError ? 'corrupt' : 'missing', error: error.message });
        options.progress?.done();
        return;
      }
      fatal ??= error;
      queue.clear();
    }
  };
  await Promise.all(missing.map((item) => queue.add(() => copy(item))));
  if (fatal) throw fatal;
  return result;
}
