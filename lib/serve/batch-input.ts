import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { KdError } from '../errors.js';

/** csv: header row, text in a named column; jsonl: one JSON object per line; lines: each line is one text. */
export const INPUT_FORMATS = ['csv', 'jsonl', 'lines'] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

/** A row to predict, or why it cannot be: `line` is 1-based in the input (a CSV header is line 1). */
export type InputRow = { line: number; text: string } | { line: number; error: string };

/** The format of `file` by its name: `-` (stdin) and .txt are lines, .jsonl/.ndjson/.json JSON Lines, .csv CSV. */
export function formatFromName(file: string): InputFormat | null {
  if (file === '-' || /\.txt$/i.test(file)) return 'lines';
  if (/\.(jsonl|ndjson|json)$/i.test(file)) return 'jsonl';
  if (/\.csv$/i.test(file)) return 'csv';
  return null;
}

function checkText(line: number, value: unknown, what: string): InputRow {
  if (typeof value !== 'string') {
    const type = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    return { line, error: `${what} is ${type}, not a string` };
  }
  if (value.trim() === '') return { line, error: 'empty text' };
  return { line, text: value };
}

async function* readLines(input: Readable): AsyncGenerator<{ line: number; raw: string }> {
  let line = 0;
  for await (const raw of createInterface({ input, crlfDelay: Infinity })) yield { line: ++line, raw };
}

async function* linesRows(input: Readable): AsyncGenerator<InputRow> {
  for await (const { line, raw } of readLines(input)) yield checkText(line, raw.replace(/^\ufeff/, ''), 'the line');
}

async function* jsonlRows(input: Readable, column: string): AsyncGenerator<InputRow> {
  for await (const { line, raw } of readLines(input)) {
    if (raw.trim() === '') {
      yield { line, error: 'blank line (JSON Lines has one object per line)' };
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(raw.replace(/^\ufeff/, ''));
    } catch (error) {
      yield { line, error: `not valid JSON (${(error as Error).message})` };
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) yield { line, error: 'expected a JSON object' };
    else if (!(column in value)) yield { line, error: `no field "${column}" (pass --text-column)` };
    else yield checkText(line, (value as Record<string, unknown>)[column], `"${column}"`);
  }
}

async function* csvRows(input: Readable, column: string, source: string): AsyncGenerator<InputRow> {
  // A malformed record (a stray quote) is reported with its line and the parser carries on.
  const skipped: InputRow[] = [];
  const parser = input.pipe(
    parse({
      bom: true,
      info: true,
      raw: true,
      relax_column_count: true,
      skip_records_with_error: true,
      on_skip: (error) => void skipped.push({ line: (error as { lines?: number } | undefined)?.lines ?? 0, error: `malformed CSV (${error?.message ?? 'unreadable record'})` }),
    }),
  );
  let header: string[] | null = null;
  let index = -1;
  for await (const { record, info, raw } of parser as AsyncIterable<{ record: string[]; info: { lines: number }; raw: string }>) {
    // info.lines is where the record ends; a quoted field may span lines.
    const line = info.lines - (raw.replace(/\r?\n$/, '').match(/\n/g)?.length ?? 0);
    // The parser reports a skipped record as soon as it meets it, maybe before records above it come out.
    while (skipped.length > 0 && skipped[0]!.line < line) yield skipped.shift()!;
    if (header === null) {
      header = record;
      index = header.indexOf(column);
      if (index === -1) throw new KdError(`${source}:${line}: no column "${column}" in the header (${header.join(', ')}); pass --text-column`);
      continue;
    }
    if (record.length !== header.length) yield { line, error: `${record.length} field${record.length === 1 ? '' : 's'}, the header has ${header.length}` };
    else yield checkText(line, record[index], `"${column}"`);
  }
  yield* skipped.splice(0);
  if (header === null) throw new KdError(`${source}: empty CSV (no header row)`);
}

/** The rows of `input` in order, each a text to predict or an error naming what is wrong with it. */
export function readInputRows(input: Readable, format: InputFormat, column: string, source: string): AsyncGenerator<InputRow> {
  if (format === 'lines') return linesRows(input);
  if (format === 'jsonl') return jsonlRows(input, column);
  return csvRows(input, column, source);
}
