import { createReadStream, createWriteStream, renameSync, rmSync, statSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import { KdError } from '../errors.js';
import { formatFromName, type InputFormat, type InputRow, readInputRows } from './batch-input.js';
import type { ServingModel } from './serving-model.js';

export interface BatchOptions {
  /** A file, or `-` for stdin. */
  file: string;
  format: InputFormat | null;
  textColumn: string;
  /** Output file (written whole or not at all), or null for stdout. */
  out: string | null;
  json: boolean;
  batchSize: number;
}

export interface BatchResult {
  rows: number;
  predicted: number;
  /** Model calls made. */
  batches: number;
  failed: { line: number; error: string }[];
}

/** What one input row becomes: its line, text, label and every class probability; or its line and error. */
interface OutputRecord {
  line: number;
  text?: string;
  label?: string;
  probabilities?: Record<string, number>;
  error?: string;
}

// Six decimals: a probability needs no more, and a large output file stays readable.
const round = (p: number) => Math.round(p * 1e6) / 1e6;

/** CSV columns: line, text, label, prob_<class> per class, error. */
function csvWriter(labels: readonly string[]) {
  let header = true;
  return (records: readonly OutputRecord[]) => {
    const rows = records.map((r) => [r.line, r.text ?? '', r.label ?? '', ...labels.map((l) => (r.probabilities ? round(r.probabilities[l]!) : '')), r.error ?? '']);
    const text = stringify(rows, { header, columns: ['line', 'text', 'label', ...labels.map((l) => `prob_${l}`), 'error'] });
    header = false;
    return text;
  };
}

function jsonlWriter() {
  return (records: readonly OutputRecord[]) =>
    records
      .map((r) => `${JSON.stringify(r.error === undefined ? { ...r, probabilities: Object.fromEntries(Object.entries(r.probabilities!).map(([k, v]) => [k, round(v)])) } : r)}\n`)
      .join('');
}

async function write(out: Writable, text: string): Promise<void> {
  if (text !== '' && !out.write(text)) await once(out, 'drain');
}

/** On a terminal only: rows done, rows per second and, for a file, how far through it we are. */
function progressLine(total: number | null) {
  const live = process.stderr.isTTY === true;
  const started = performance.now();
  let last = 0;
  return {
    update(rows: number, bytes: number) {
      const now = performance.now();
      if (!live || now - last < 200) return;
      last = now;
      const rate = rows / ((now - started) / 1000);
      const share = total ? ` · ${Math.min(100, Math.floor((bytes / total) * 100))} %` : '';
      process.stderr.write(`\r\x1b[Kpredict: ${rows.toLocaleString('en-US')} rows · ${Math.round(rate).toLocaleString('en-US')} rows/s${share}`);
    },
    clear() {
      if (live && last > 0) process.stderr.write('\r\x1b[K');
    },
  };
}

/** The output stream and how to finish it: a temp file beside --out renamed into place only when complete. */
function openOutput(out: string | null): { stream: Writable; commit(): Promise<void>; abort(): void } {
  if (out === null) return { stream: process.stdout, commit: async () => {}, abort: () => {} };
  const target = path.resolve(out);
  const tmp = `${target}.tmp-${process.pid}`;
  let stream: WriteStream;
  try {
    statSync(path.dirname(target));
    stream = createWriteStream(tmp);
  } catch {
    throw new KdError(`predict: --out ${out}: the folder ${path.dirname(out)} does not exist`);
  }
  const abort = () => {
    stream.destroy();
    rmSync(tmp, { force: true });
  };
  // Interrupted: no half-written output left behind.
  const onSignal = (signal: NodeJS.Signals) => {
    abort();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    stream,
    async commit() {
      stream.end();
      await once(stream, 'finish');
      renameSync(tmp, target);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
    abort,
  };
}

/**
 * Predicts every row of a CSV, JSON Lines or plain-text input in batches of `batchSize` and writes
 * one output record per input row, in input order. A bad row (empty text, wrong type, malformed
 * record) becomes an output record with its error; the others are still predicted.
 */
export async function predictFile(model: ServingModel, options: BatchOptions): Promise<BatchResult> {
  const format = options.format ?? formatFromName(options.file);
  if (format === null) throw new KdError(`predict: --file ${options.file}: cannot tell the format from the name; pass --format csv|jsonl|lines`);
  let input: Readable = process.stdin;
  let size: number | null = null;
  let bytesRead = () => 0;
  if (options.file !== '-') {
    try {
      size = statSync(options.file).size;
    } catch (error) {
      throw new KdError(`predict: --file ${options.file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
    }
    const stream = createReadStream(options.file);
    bytesRead = () => stream.bytesRead;
    input = stream;
  }
  const source = options.file === '-' ? 'stdin' : options.file;
  const output = openOutput(options.out);
  const render = options.json ? jsonlWriter() : csvWriter(model.bundle.labels);
  const progress = progressLine(size);
  const result: BatchResult = { rows: 0, predicted: 0, batches: 0, failed: [] };
  let pending: InputRow[] = [];
  let texts = 0;

  const flush = async () => {
    const good = pending.filter((row): row is { line: number; text: string } => 'text' in row);
    const predictions = good.length > 0 ? await model.predict(good.map((row) => row.text)) : [];
    if (good.length > 0) result.batches++;
    let next = 0;
    const records = pending.map((row): OutputRecord => {
      if ('error' in row) {
        result.failed.push(row);
        return row;
      }
      const { label, probabilities } = predictions[next++]!;
      return { line: row.line, text: row.text, label, probabilities };
    });
    result.predicted += good.length;
    await write(output.stream, render(records));
    pending = [];
    texts = 0;
    progress.update(result.rows, bytesRead());
  };

  try {
    for await (const row of readInputRows(input, format, options.textColumn, source)) {
      result.rows++;
      pending.push(row);
      if ('text' in row && ++texts === options.batchSize) await flush();
    }
    await flush();
    progress.clear();
    await output.commit();
  } catch (error) {
    progress.clear();
    output.abort();
    throw error;
  }
  return result;
}
