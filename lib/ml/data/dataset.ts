import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { KdError } from '../../errors.js';
import { parseOrThrow } from '../../validation.js';
import { PAD, PAD_ID, UNK, UNK_ID } from '../text/text.js';

/** One row of artifacts/data/{train,val,test}.jsonl, as preprocess writes it. */
export const exampleSchema = z.strictObject({
  text: z.string(),
  tokens: z.array(z.string()),
  label: z.string().min(1),
  y: z.number().int().nonnegative(),
});
export type Example = z.infer<typeof exampleSchema>;

const labelsSchema = z
  .array(z.string().min(1))
  .min(2)
  .refine((labels) => new Set(labels).size === labels.length, { message: 'label names must be unique' });

const vocabSchema = z
  .record(z.string(), z.number().int().nonnegative())
  .refine((vocab) => vocab[PAD] === PAD_ID && vocab[UNK] === UNK_ID, {
    message: `must map "${PAD}" to ${PAD_ID} and "${UNK}" to ${UNK_ID}`,
  });

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new KdError(`${file}: ${code === 'ENOENT' ? 'not found (run the preprocess/build-vocab stages first)' : (error as Error).message}`);
  }
}

function parseJson(file: string, text: string, line?: number): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const where = line === undefined ? file : `${file}:${line}`;
    throw new KdError(`${where}: not valid JSON (${(error as Error).message})`);
  }
}

/** The rows of a JSON Lines file written by preprocess, each checked by `schema` (blank lines ignored). */
function readJsonLines<T>(file: string, schema: z.ZodType<T>): T[] {
  const rows: T[] = [];
  readText(file)
    .split('\n')
    .forEach((line, index) => {
      if (line.trim() === '') return;
      rows.push(parseOrThrow(schema, parseJson(file, line, index + 1), `${file}:${index + 1}`));
    });
  return rows;
}

/** The examples of one split file. */
export function readSplit(file: string): Example[] {
  return readJsonLines(file, exampleSchema);
}

/** Training sentences whose label data.label_fraction set aside (preprocess's unlabeled.jsonl). */
export function readUnlabeledSplit(file: string): { text: string; tokens: string[] }[] {
  return readJsonLines(file, exampleSchema.pick({ text: true, tokens: true }));
}

/** Label names; the index of a name is its class id `y`. */
export function readLabels(file: string): string[] {
  return parseOrThrow(labelsSchema, parseJson(file, readText(file)), file);
}

/** Token → id, with `<pad>` = 0 and `<unk>` = 1. */
export function readVocab(file: string): Record<string, number> {
  return parseOrThrow(vocabSchema, parseJson(file, readText(file)), file);
}
