import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { KdError } from '../../errors.js';

/** One labelled row of the user's data set, with the line it starts on (1-based) for messages. */
export interface RawRow {
  text: string;
  label: string;
  line: number;
}

export interface DataSourceOptions {
  path: string;
  format: 'auto' | 'csv' | 'jsonl';
  text_column: string;
  label_column: string;
}

export interface DataSource {
  rows: RawRow[];
  /** Lines dropped for holding no text (blank lines, empty cells): reported, never silent. */
  emptyLines: number[];
}

const SHOWN_LINES = 10;

/** Line numbers for a message: the first ten, then how many in all. */
export function lineList(lines: readonly (number | string)[]): string {
  const shown = lines.slice(0, SHOWN_LINES).join(', ');
  return lines.length > SHOWN_LINES ? `${shown}, … (${lines.length} in all)` : shown;
}

/** Decodes strict UTF-8; on an invalid byte sequence names the first line that holds one. */
function decodeUtf8(file: string, bytes: Buffer): string {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  try {
    return decoder.decode(bytes);
  } catch {
    let start = 0;
    for (let line = 1; ; line++) {
      const end = bytes.indexOf(0x0a, start);
      const chunk = bytes.subarray(start, end === -1 ? bytes.length : end);
      try {
        decoder.decode(chunk);
      } catch {
        throw new KdError(`${file}:${line}: not valid UTF-8 text (save the file as UTF-8)`);
      }
      if (end === -1) throw new KdError(`${file}: not valid UTF-8 text (save the file as UTF-8)`);
      start = end + 1;
    }
  }
}

function cell(value: unknown): string {
  return typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value);
}

function readCsv(file: string, text: string, options: DataSourceOptions, columnHint: string): DataSource {
  let records: { record: Record<string, unknown>; info: { lines: number } }[];
  try {
    records = parse(text, { columns: true, info: true, skip_empty_lines: false, relax_column_count: false, bom: true });
  } catch (error) {
    const err = error as Error & { lines?: number };
    throw new KdError(`${file}${err.lines ? `:${err.lines}` : ''}: malformed CSV (${err.message})`);
  }
  const emptyLines: number[] = [];
  const rows: RawRow[] = [];
  const header = text.slice(0, text.indexOf('\n') === -1 ? text.length : text.indexOf('\n'));
  for (const column of [options.text_column, options.label_column]) {
    if (records.length > 0 && !(column in records[0]!.record)) {
      throw new KdError(`${file}:1: no column "${column}" (header: ${header.trim()}); ${columnHint}`);
    }
  }
  for (const { record, info } of records) {
    if (Object.values(record).every((value) => cell(value).trim() === '')) {
      emptyLines.push(info.lines);
      continue;
    }
    rows.push({ text: cell(record[options.text_column]), label: cell(record[options.label_column]), line: info.lines });
  }
  return { rows, emptyLines };
}

function readJsonl(file: string, text: string, options: DataSourceOptions, columnHint: string): DataSource {
  const emptyLines: number[] = [];
  const rows: RawRow[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') {
      if (index < text.split('\n').length - 1 || raw !== '') emptyLines.push(line);
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      throw new KdError(`${file}:${line}: not valid JSON (${(error as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new KdError(`${file}:${line}: expected a JSON object`);
    const record = value as Record<string, unknown>;
    for (const column of [options.text_column, options.label_column]) {
      if (!(column in record)) throw new KdError(`${file}:${line}: no field "${column}"; ${columnHint}`);
    }
    rows.push({ text: cell(record[options.text_column]), label: cell(record[options.label_column]), line });
  });
  return { rows, emptyLines };
}

/**
 * Reads a CSV (header row) or JSON Lines data set and checks it: every row needs a non-empty text
 * and label, and there must be at least two classes. Any problem is one KdError naming file and line;
 * `columnHint` says how to name other columns.
 */
export function readDataSource(root: string, options: DataSourceOptions, columnHint = 'set data.text_column/data.label_column in params.yaml'): DataSource {
  const file = path.resolve(root, options.path);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw new KdError(`${options.path}: cannot read data set (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); check data.path in params.yaml`);
  }
  const name = options.path;
  const text = decodeUtf8(name, bytes);
  if (text.trim() === '') throw new KdError(`${name}: the data file is empty`);
  const format = options.format === 'auto' ? (/\.jsonl?$/i.test(file) ? 'jsonl' : 'csv') : options.format;
  const source = format === 'csv' ? readCsv(name, text, options, columnHint) : readJsonl(name, text, options, columnHint);
  // A row with an empty text is dropped and reported (the embedded UCI file has one); a row
  // with text but no label is an error, since guessing its class would corrupt the data.
  const rows = source.rows.filter((row) => row.text.trim() !== '');
  const emptyLines = [...source.emptyLines, ...source.rows.filter((row) => row.text.trim() === '').map((row) => row.line)].sort((a, b) => a - b);
  if (rows.length === 0) throw new KdError(`${name}: no data rows with text in column "${options.text_column}" (only a header, blank lines or empty cells)`);
  for (const row of rows) {
    if (row.label.trim() === '') throw new KdError(`${name}:${row.line}: empty label in column "${options.label_column}"`);
  }
  const classes = new Set(rows.map((row) => row.label.trim()));
  if (classes.size < 2) throw new KdError(`${name}: only one class ("${[...classes][0]}") in column "${options.label_column}"; a classifier needs at least two`);
  return { rows, emptyLines };
}
