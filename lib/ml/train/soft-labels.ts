import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { KdError } from '../../errors.js';
import { parseOrThrow } from '../../validation.js';
import { writeDirAtomic } from '../../atomic-dir.js';

/** generate-soft-labels' output, relative to the project root. */
export const SOFT_LABELS_DIR = 'artifacts/soft-labels';
const TRANSFER_FILE = 'transfer.jsonl';
const META_FILE = 'meta.json';

/** One transfer-set row: the training sentences (with their label), then the augmented ones, the vocabulary words and the unlabelled text (y null). */
export interface TransferRow {
  /** What the teacher read (a transformer reads text; a tfjs teacher the tokens). */
  text: string;
  tokens: string[];
  /** Hard label of an original training sentence; null for an augmented sentence (teacher-only). */
  y: number | null;
  /** Teacher logits (the ensemble's average). */
  logits: number[];
}

const rowSchema = z.strictObject({
  text: z.string(),
  tokens: z.array(z.string()),
  y: z.number().int().nonnegative().nullable(),
  logits: z.array(z.number()),
});

const metaSchema = z.strictObject({
  classes: z.number().int().min(2),
  original: z.number().int().nonnegative(),
  augmented: z.number().int().nonnegative(),
  /** Vocabulary words labelled on their own (soft_labels.vocabulary_words). */
  words: z.number().int().nonnegative(),
  teacher_members: z.number().int().positive(),
  /** Sentences of unlabelled text (data.label_fraction's rest, soft_labels.unlabeled's files), after the drops in `sources`. */
  unlabeled: z.number().int().nonnegative().default(0),
  /** Per unlabelled source: rows read, sentences kept, and what was dropped. */
  sources: z
    .array(
      z.strictObject({
        file: z.string(),
        rows: z.number().int().nonnegative(),
        kept: z.number().int().nonnegative(),
        empty: z.number().int().nonnegative(),
        duplicates: z.number().int().nonnegative(),
        leaked: z.number().int().nonnegative(),
      }),
    )
    .default([]),
  /** Share of the labelled training sentences on which the teacher's top class is their label. */
  teacher_agreement: z.number().min(0).max(1).nullable().default(null),
});
export type TransferMeta = z.infer<typeof metaSchema>;

/**
 * Writes transfer.jsonl and meta.json into `dir`, atomically: `fill` appends rows as they are
 * labelled (a large transfer set never sits in memory whole) and returns the meta.
 */
export async function writeTransferSet(dir: string, fill: (append: (rows: readonly TransferRow[]) => void) => Promise<TransferMeta>): Promise<void> {
  await writeDirAtomic(dir, async (tmp) => {
    const fd = openSync(path.join(tmp, TRANSFER_FILE), 'w');
    let meta: TransferMeta;
    try {
      meta = await fill((rows) => writeSync(fd, rows.map((row) => `${JSON.stringify(row)}\n`).join('')));
    } finally {
      closeSync(fd);
    }
    writeFileSync(path.join(tmp, META_FILE), `${JSON.stringify(meta, null, 2)}\n`);
  });
}

/** The transfer set's meta.json alone (what the report shows of it). */
export function readTransferMeta(dir: string): TransferMeta {
  const metaFile = path.join(dir, META_FILE);
  return parseOrThrow(metaSchema, readJson(metaFile, readText(metaFile)), metaFile);
}

function readJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new KdError(`${file}: not valid JSON (${(error as Error).message})`);
  }
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    throw new KdError(`${file}: not found (run the generate-soft-labels stage first)`);
  }
}

/** Reads and checks a transfer set: every row has `meta.classes` logits and a label below it. */
export function readTransferSet(dir: string): { rows: TransferRow[]; meta: TransferMeta } {
  const meta = readTransferMeta(dir);
  const file = path.join(dir, TRANSFER_FILE);
  const rows: TransferRow[] = [];
  readText(file)
    .split('\n')
    .forEach((line, index) => {
      if (line.trim() === '') return;
      const where = `${file}:${index + 1}`;
      const row = parseOrThrow(rowSchema, readJson(where, line), where);
      if (row.logits.length !== meta.classes) throw new KdError(`${where}: ${row.logits.length} logits, expected ${meta.classes} (meta.json classes)`);
      if (row.y !== null && row.y >= meta.classes) throw new KdError(`${where}: label ${row.y} out of range for ${meta.classes} classes`);
      rows.push(row);
    });
  const expected = meta.original + meta.augmented + meta.words + meta.unlabeled;
  if (rows.length !== expected) throw new KdError(`${file}: ${rows.length} rows, meta.json says ${expected}`);
  return { rows, meta };
}
