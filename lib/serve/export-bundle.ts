import { existsSync } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { KdError } from '../errors.js';
import { parseOrThrow } from '../validation.js';
import { ONNX_DIR, ONNX_FILES } from '../ml/export/onnx/onnx-export.js';

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

/** The runtimes an export is served with: tfjs (model.json) or onnxruntime-node (onnx/model.onnx). */
export const RUNTIMES = ['tfjs', 'onnx'] as const;
export type Runtime = (typeof RUNTIMES)[number];
/** The quantized variants the export stage writes beside each float32 model: tfjs ones in sub-folders, ONNX ones in onnx/. */
export const RUNTIME_VARIANTS = { tfjs: ['float16', 'uint8'], onnx: ['int8'] } as const;
export const VARIANTS = [...RUNTIME_VARIANTS.tfjs, ...RUNTIME_VARIANTS.onnx] as const;
export type Variant = (typeof VARIANTS)[number];

/** The model file of a runtime and variant, relative to the export directory (what is read, and watched for reloads). */
export function modelFile(runtime: Runtime, variant: Variant | null): string {
  if (runtime === 'onnx') return path.join(ONNX_DIR, ONNX_FILES[variant === 'int8' ? 'int8' : 'float32']);
  return variant === null ? MODEL_FILE : path.join(variant, MODEL_FILE);
}

/** Refuses a variant the runtime has not got, naming those it has (`source`: the command, for the message). */
export function checkVariant(runtime: Runtime, variant: string | null, source: string): Variant | null {
  const known: readonly string[] = RUNTIME_VARIANTS[runtime];
  if (variant === null || known.includes(variant)) return variant as Variant | null;
  const others = RUNTIMES.filter((name) => name !== runtime).map((name) => `${RUNTIME_VARIANTS[name].join(', ')} with --runtime ${name}`);
  throw new KdError(`${source}: --variant must be one of ${known.join(', ')} with --runtime ${runtime} (${others.join('; ')}; none for float32), not "${variant}"`);
}

/** One export read into memory: what the server predicts with is exactly what the page downloads. */
export interface ExportBundle {
  /** The export directory with symlinks resolved (a rollback re-points a link and reloads). */
  dir: string;
  /** What runs the model: tfjs (model.json) or onnxruntime-node (`onnx`). */
  runtime: Runtime;
  /** The quantized variant served (tfjs: model.json and weights from `<dir>/<variant>/`; ONNX: onnx/model.int8.onnx), if any. */
  variant: Variant | null;
  /** The tfjs model (also what the web page downloads); null for an ONNX-only export served with --runtime onnx. */
  modelJson: ModelJson | null;
  /** The ONNX file's bytes when the runtime is onnx. */
  onnx: Buffer | null;
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

/** The ONNX file of the export, or one message saying there is none and how to get one. */
async function readOnnx(dir: string, variant: Variant | null): Promise<Buffer> {
  const file = path.join(dir, modelFile('onnx', variant));
  try {
    return await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new KdError(`${file}: ${(error as Error).message}`);
    throw new KdError(
      `${dir}: this export has no ONNX model (${path.relative(dir, file)} is missing): export it with \`export.formats: [tfjs, onnx]\` in params.yaml ` +
        '(`kd-pipeline run export`), or predict with --runtime tfjs',
    );
  }
}

/**
 * Reads and validates an export directory (written by the export stage), with the model of a
 * quantized variant if one is named. Throws a KdError naming the file at fault; never returns a
 * half-read export.
 */
export async function readExport(exportDir: string, variant: Variant | null = null, runtime: Runtime = 'tfjs'): Promise<ExportBundle> {
  if (!existsSync(exportDir)) {
    throw new KdError(`${exportDir}: no such export directory (run \`kd-pipeline run\` to produce artifacts/export, or pass --model)`);
  }
  const dir = await realpath(exportDir);
  const modelDir = runtime === 'onnx' || variant === null ? dir : path.join(dir, variant);
  const onnx = runtime === 'onnx' ? await readOnnx(dir, variant) : null;
  // An ONNX-only export has no tfjs model; served with --runtime onnx it needs none.
  const tfjs = runtime === 'tfjs' || existsSync(path.join(modelDir, MODEL_FILE));
  if (runtime === 'tfjs' && !existsSync(path.join(modelDir, MODEL_FILE)) && existsSync(path.join(dir, modelFile('onnx', null)))) {
    throw new KdError(`${dir}: this export has no tfjs model (${path.relative(dir, path.join(modelDir, MODEL_FILE))} is missing; export.formats was [onnx]): use --runtime onnx`);
  }
  const [model, vocab, labels, preprocessing, metadata] = await Promise.all([
    tfjs ? readJson(modelDir, MODEL_FILE, modelJsonSchema) : null,
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
  const weightNames = (model?.value.weightsManifest ?? []).flatMap((group) => group.paths.map((ref) => weightFileName(modelDir, ref)));
  const weights = new Map<string, Buffer>();
  for (const name of weightNames) weights.set(name, await readBytes(modelDir, name));
  const modelCard = existsSync(path.join(dir, MODEL_CARD_FILE)) ? (await readBytes(dir, MODEL_CARD_FILE)).toString('utf8') : null;

  const files = new Map<string, Buffer>([
    ...(model ? ([[MODEL_FILE, model.bytes]] as const) : []),
    [VOCAB_FILE, vocab.bytes],
    [LABELS_FILE, labels.bytes],
    [PREPROCESSING_FILE, preprocessing.bytes],
    [METADATA_FILE, metadata.bytes],
    ...(tokenizer && tokenizerConfig ? ([[TOKENIZER_FILE, tokenizer.bytes], [TOKENIZER_CONFIG_FILE, tokenizerConfig.bytes]] as const) : []),
    ...weights,
  ]);
  return {
    dir,
    runtime,
    variant,
    modelJson: model?.value ?? null,
    onnx,
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
