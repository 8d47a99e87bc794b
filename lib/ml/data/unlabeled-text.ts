import { createReadStream, statSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { KdError } from '../../errors.js';
import { tokenize, type TextOptions } from '../text/text.js';

/** One file of unlabelled text: CSV (header row), JSON Lines, or plain text with one sentence a line. */
export interface UnlabeledSource {
  /** As params.yaml names it (relative to the project root), for messages. */
  file: string;
  column: string;
  /** Says how to fix a missing column (which key or flag names it). */
  columnHint: string;
}

/** What reading the sources dropped, per file, so the report can say where the transfer text went. */
export interface UnlabeledFileStats {
  file: string;
  rows: number;
  kept: number;
  emptyLines: number[];
  duplicates: number;
  /** Sentences that also occur in the validation or test split: dropped, so no score is inflated. */
  leaked: number;
}

type Format = 'csv' | 'jsonl' | 'text';

function formatOf(file: string): Format {
  if (/\.csv$/i.test(file)) return 'csv';
  return /\.(jsonl|ndjson)$/i.test(file) ? 'jsonl' : 'text';
}

/** The 1-based line of byte `at` in `bytes`, counting from `firstLine`. */
function lineAt(bytes: Buffer, at: number, firstLine: number): number {
  let line = firstLine;
  for (let i = bytes.indexOf(0x0a); i !== -1 && i < at; i = bytes.indexOf(0x0a, i + 1)) line++;
  return line;
}

/**
 * The file's text, chunk by chunk (never the whole file at once), refusing a binary file (a NUL
 * byte) and invalid UTF-8 with the line that holds it.
 */
async function* decodedChunks(absolute: string, shown: string): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let line = 1;
  for await (const chunk of createReadStream(absolute) as AsyncIterable<Buffer>) {
    const nul = chunk.indexOf(0);
    if (nul !== -1) throw new KdError(`${shown}:${lineAt(chunk, nul, line)}: binary data (a NUL byte), not text: soft_labels.unlabeled takes CSV, JSON Lines or plain text`);
    try {
      yield decoder.decode(chunk, { stream: true });
    } catch {
      // The line is found by decoding line by line; a character split over two chunks decodes above.
      let start = 0;
      for (let n = line; ; n++) {
        const end = chunk.indexOf(0x0a, start);
        try {
          new TextDecoder('utf-8', { fatal: true }).decode(chunk.subarray(start, end === -1 ? chunk.length : end));
        } catch {
          throw new KdError(`${shown}:${n}: not valid UTF-8 text (save the file as UTF-8)`);
        }
        if (end === -1) throw new KdError(`${shown}:${n}: not valid UTF-8 text (save the file as UTF-8)`);
        start = end + 1;
      }
    }
    line = lineAt(chunk, chunk.length, line);
  }
  const rest = decoder.decode();
  if (rest !== '') yield rest;
}

/** Lines of the decoded text with their numbers (a trailing \r dropped). */
async function* lines(chunks: AsyncIterable<string>): AsyncGenerator<{ raw: string; line: number }> {
  let pending = '';
  let line = 0;
  for await (const chunk of chunks) {
    pending += chunk;
    let start = 0;
    for (let end = pending.indexOf('\n'); end !== -1; end = pending.indexOf('\n', start)) {
      yield { raw: pending.slice(start, end).replace(/\r$/, ''), line: ++line };
      start = end + 1;
    }
    pending = pending.slice(start);
  }
  if (pending !== '') yield { raw: pending.replace(/\r$/, ''), line: ++line };
}

async function* jsonlRows(chunks: AsyncIterable<string>, source: UnlabeledSource): AsyncGenerator<{ text: string; line: number }> {
  for await (const { raw, line } of lines(chunks)) {
    if (raw.trim() === '') {
      yield { text: '', line };
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      throw new KdError(`${source.file}:${line}: not valid JSON (${(error as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new KdError(`${source.file}:${line}: expected a JSON object`);
    const record = value as Record<string, unknown>;
    if (!(source.column in record)) throw new KdError(`${source.file}:${line}: no field "${source.column}"; ${source.columnHint}`);
    yield { text: cell(record[source.column]), line };
  }
}

function cell(value: unknown): string {
  return typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value);
}

async function* csvRows(chunks: AsyncIterable<string>, source: UnlabeledSource): AsyncGenerator<{ text: string; line: number }> {
  const parser = parse({ columns: true, info: true, bom: true, skip_empty_lines: false, relax_column_count: false });
  const input = Readable.from(chunks);
  // A decoding error (binary, UTF-8) reaches the parser, and so this loop, as itself.
  input.on('error', (error) => parser.destroy(error));
  input.pipe(parser);
  let first = true;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, unknown>; info: { lines: number } }>) {
      if (first && !(source.column in record)) throw new KdError(`${source.file}:1: no column "${source.column}" (header: ${Object.keys(record).join(',')}); ${source.columnHint}`);
      first = false;
      yield { text: Object.values(record).every((value) => cell(value).trim() === '') ? '' : cell(record[source.column]), line: info.lines };
    }
  } catch (error) {
    if (error instanceof KdError) throw error;
    const err = error as Error & { lines?: number };
    throw new KdError(`${source.file}${err.lines ? `:${err.lines}` : ''}: malformed CSV (${err.message})`);
  }
}

/** Checks the file is there and not empty; the reasons a whole file is refused before any row is read. */
function checkFile(root: string, source: UnlabeledSource): string {
  const absolute = path.resolve(root, source.file);
  const stat = statSync(absolute, { throwIfNoEntry: false });
  if (!stat) throw new KdError(`${source.file}: no such file (soft_labels.unlabeled.path)`);
  if (!stat.isFile()) throw new KdError(`${source.file}: not a file (soft_labels.unlabeled.path)`);
  if (stat.size === 0) throw new KdError(`${source.file}: the file is empty (soft_labels.unlabeled.path)`);
  return absolute;
}

/** The rows of one source in order, with their line, as text ('' for an empty row). */
export function sourceRows(root: string, source: UnlabeledSource): AsyncGenerator<{ text: string; line: number }> {
  const chunks = decodedChunks(checkFile(root, source), source.file);
  const format = formatOf(source.file);
  if (format === 'csv') return csvRows(chunks, source);
  if (format === 'jsonl') return jsonlRows(chunks, source);
  return (async function* () {
    for await (const { raw, line } of lines(chunks)) yield { text: raw, line };
  })();
}

/**
 * The distinct sentences of `sources`, streamed: an empty row, a sentence already seen (in
 * `seen`, which grows; keys are the normalised tokens joined by spaces, as preprocess compares
 * rows) and one in `heldOut` (the validation and test splits) are dropped and
 * counted in `stats`, one entry per file. A file with no sentence with text is refused.
 */
export async function* unlabeledSentences(
  root: string,
  sources: readonly UnlabeledSource[],
  options: TextOptions,
  heldOut: ReadonlySet<string>,
  seen: Set<string>,
  stats: UnlabeledFileStats[],
): AsyncGenerator<{ text: string; tokens: string[] }> {
  for (const source of sources) {
    const entry: UnlabeledFileStats = { file: source.file, rows: 0, kept: 0, emptyLines: [], duplicates: 0, leaked: 0 };
    stats.push(entry);
    for await (const { text, line } of sourceRows(root, source)) {
      entry.rows++;
      if (text.trim() === '') {
        entry.emptyLines.push(line);
        continue;
      }
      const tokens = tokenize(text, options);
      const key = tokens.join(' ');
      if (heldOut.has(key)) entry.leaked++;
      else if (seen.has(key)) entry.duplicates++;
      else {
        seen.add(key);
        entry.kept++;
        yield { text, tokens };
      }
    }
    if (entry.rows === entry.emptyLines.length) throw new KdError(`${source.file}: no sentence with text${formatOf(source.file) === 'text' ? '' : ` in column "${source.column}"`} (only blank lines or empty cells)`);
  }
}
