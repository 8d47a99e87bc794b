import { existsSync } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { KdError } from '../errors.js';
import { parseOrThrow } from '../validation.js';

/** The files of an export directory the server reads (the weight files come from model.json). */
const MODEL_FILE = 'model.json';
const VOCAB_FILE = 'vocab.json';
const LABELS_FILE = 'labels.json';
const PREPROCESSING_FILE = 'preprocessing.json';
const METADATA_FILE = 'metadata.json';
const TOKENIZER_FILE = 'tokenizer.json';
const TOKENIZER_CONFIG_FILE = 'tokenizer_config.json';

const tokenizerSchema = z.looseObject({
  model: z.looseObject({ type: z.string(), vocab: z.record(z.string(), z.number().int().nonnegative()) }),
  truncation: z.looseObject({ max_length: z.number().int().positive() }),
});
const MODEL_CARD_FILE = 'model-card.md';

const modelJsonSchema = z.object({
  modelTopology: z.record(z.string(), z.unknown()),
  weightsManifest: z
    .array(z.object({ paths: z.array(z.string().min(1)).min(1), weights: z.array(z.unknown()) }))
    .min(1),
});

const vocabSchema = z
  .record(z.string(), z.number().int().nonnegative())
  .refine((vocab) => vocab['<unk>'] !== undefined, { message: 'has no "<unk>" entry' });

const labelsSchema = z
  .array(z.string().min(1))
  .min(2)
  .refine((labels) => new Set(labels).size === labels.length, { message: 'label names must be unique' });

const preprocessingSchema = z.object({
  /** words: vocab.json over the project's word tokeniser; pieces: tokenizer.json (exports before sub-word students say nothing: words). */
  tokenizer: z.enum(['words', 'pieces']).default('words'),
  lowercase: z.boolean(),
  strip_accents: z.boolean(),
  max_len: z.number().int().positive(),
});

/** Name, version and fingerprint identify the model in every answer; the rest is passed through. */
const metadataSchema = z.looseObject({
  name: z.string().min(1),
  version: z.union([z.string().min(1), z.number()]).transform(String),
  fingerprint: z.string().min(1),
});

export type Preprocessing = z.infer<typeof preprocessingSchema>;
export type ExportMetadata = z.infer<typeof metadataSchema>;
export type ModelJson = z.infer<typeof modelJsonSchema>;

/** The quantized variants the export stage writes beside the float32 model, in sub-folders. */
export const VARIANTS = ['float16', 'uint8'] as const;
export type Variant = (typeof VARIANTS)[number];

/** One export read into memory: what the server predicts with is exactly what the page downloads. */
export interface ExportBundle {
  /** The export directory with symlinks resolved (a rollback re-points a link and reloads). */
  dir: string;
  /** The quantized variant served (its model.json and weights come from `<dir>/<variant>/`), if any. */
  variant: Variant | null;
  modelJson: ModelJson;
  /** Weight file name → bytes, in the order of the manifest. */
  weights: ReadonlyMap<string, Buffer>;
  vocab: Record<string, number>;
  labels: string[];
  preprocessing: Preprocessing;
  /** tokenizer.json and tokenizer_config.json of a student over pieces (null for words). */
  tokenizer: { json: z.infer<typeof tokenizerSchema>; config: Record<string, unknown> } | null;
  metadata: ExportMetadata;
  modelCard: string | null;
  /** Every file the browser may fetch under /model/, by name. */
  files: ReadonlyMap<string, Buffer>;
}

async function readBytes(dir: string, name: string): Promise<Buffer> {
  const file = path.join(dir, name);
  try {
    return await readFile(file);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (error as Error).message;
    throw new KdError(`${file}: ${reason}`);
  }
}

function parseJson(file: string, bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new KdError(`${file}: not valid JSON (${(error as Error).message})`);
  }
}

async function readJson<T>(dir: string, name: string, schema: z.ZodType<T>): Promise<{ value: T; bytes: Buffer }> {
  const bytes = await readBytes(dir, name);
  const file = path.join(dir, name);
  return { value: parseOrThrow(schema, parseJson(file, bytes), file), bytes };
}

/** A weight path from model.json must name a file inside the export, never ../ or an absolute path. */
function weightFileName(dir: string, ref: string): string {
  // tfjs writers differ on "./weights.bin" vs "weights.bin"; both name the same file.
  const name = path.posix.normalize(ref);
  if (name !== path.basename(name) || name === '..' || name === '.') {
    throw new KdError(`${path.join(dir, MODEL_FILE)}: weight path "${ref}" must be a file name inside the export`);
  }
  return name;
}

/**
 * Reads and validates an export directory (written by the export stage), with the model of a
 * quantized variant if one is named. Throws a KdError naming the file at fault; never returns a
 * half-read export.
 */
export async function readExport(exportDir: string, variant: Variant | null = null): Promise<ExportBundle> {
  if (!existsSync(exportDir)) {
    throw new KdError(`${exportDir}: no such export directory (run \`kd-pipeline run\` to produce artifacts/export, or pass --model)`);
  }
  const dir = await realpath(exportDir);
  const modelDir = variant === null ? dir : path.join(dir, variant);
  const [model, vocab, labels, preprocessing, metadata] = await Promise.all([
    readJson(modelDir, MODEL_FILE, modelJsonSchema),
    readJson(dir, VOCAB_FILE, vocabSchema),
    readJson(dir, LABELS_FILE, labelsSchema),
    readJson(dir, PREPROCESSING_FILE, preprocessingSchema),
    readJson(dir, METADATA_FILE, metadataSchema),
  ]);
  const pieces = preprocessing.value.tokenizer === 'pieces';
  const [tokenizer, tokenizerConfig] = pieces
    ? await Promise.all([readJson(dir, TOKENIZER_FILE, tokenizerSchema), readJson(dir, TOKENIZER_CONFIG_FILE, z.record(z.string(), z.unknown()))])
    : [null, null];
  if (tokenizer && tokenizer.value.truncation.max_length !== preprocessing.value.max_len) {
    throw new KdError(`${path.join(dir, TOKENIZER_FILE)}: truncation.max_length ${tokenizer.value.truncation.max_length}, but preprocessing.json says max_len ${preprocessing.value.max_len}`);
  }
  const weightNames = model.value.weightsManifest.flatMap((group) => group.paths.map((ref) => weightFileName(modelDir, ref)));
  const weights = new Map<string, Buffer>();
  for (const name of weightNames) weights.set(name, await readBytes(modelDir, name));
  const modelCard = existsSync(path.join(dir, MODEL_CARD_FILE)) ? (await readBytes(dir, MODEL_CARD_FILE)).toString('utf8') : null;

  const files = new Map<string, Buffer>([
    [MODEL_FILE, model.bytes],
    [VOCAB_FILE, vocab.bytes],
    [LABELS_FILE, labels.bytes],
    [PREPROCESSING_FILE, preprocessing.bytes],
    [METADATA_FILE, metadata.bytes],
    ...(tokenizer && tokenizerConfig ? ([[TOKENIZER_FILE, tokenizer.bytes], [TOKENIZER_CONFIG_FILE, tokenizerConfig.bytes]] as const) : []),
    ...weights,
  ]);
  return {
    dir,
    variant,
    modelJson: model.value,
    weights,
    vocab: vocab.value,
    labels: labels.value,
    preprocessing: preprocessing.value,
    tokenizer: tokenizer && tokenizerConfig ? { json: tokenizer.value, config: tokenizerConfig.value } : null,
    metadata: metadata.value,
    modelCard,
    files,
  };
}
