import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { KdError } from '../errors.js';
import { parseOrThrow } from '../validation.js';

/**
 * The ML sections of params.yaml. Every section is strict, so a typo such as `student.temprature`
 * is an error naming the key instead of a silently ignored setting.
 */
const trainKeys = {
  epochs: z.number().int().positive(),
  batch_size: z.number().int().positive(),
  learning_rate: z.number().positive(),
  warmup_epochs: z.number().int().nonnegative(),
  decay: z.enum(['cosine', 'none']),
  patience: z.number().int().positive(),
  /** Validate and keep an exponential moving average of the weights, updated every step (Keras' ema_momentum); 0 = the weights as trained. */
  ema_momentum: z.number().min(0).lt(1),
};
const trainSchema = z.strictObject({
  ...trainKeys,
  warmup_epochs: trainKeys.warmup_epochs.default(0),
  decay: trainKeys.decay.default('none'),
  patience: trainKeys.patience.default(3),
  ema_momentum: trainKeys.ema_momentum.default(0),
});
/** Some keys of a train section, no defaults: what they leave out stays as the section has it. */
const trainOverrides = z.strictObject(trainKeys).partial().optional();

const fraction = z.number().min(0).max(0.9);

/** What a teacher ensemble can be made of; each member's logits count equally. */
export const TEACHER_MEMBER_KINDS = ['transformer', 'cnn', 'bilstm'] as const;
export type TeacherMemberKind = (typeof TEACHER_MEMBER_KINDS)[number];

/**
 * teacher.transformer: a pretrained encoder run through ONNX Runtime (transformers.js), frozen,
 * with a small head trained in tfjs on its sentence embeddings — or, with `head.type: model`, the
 * model's own sequence-classification head as it is.
 */
const transformerSchema = z.strictObject({
  /** A hub id (`org/name`) or a local folder in the Hugging Face layout (`./path`, `/abs/path`). */
  model: z.string().min(1),
  /** transformers.js dtype: which ONNX file of the folder (q8 → onnx/model_quantized.onnx, fp32 → onnx/model.onnx, …). */
  dtype: z.enum(['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4', 'q4f16', 'bnb4']).default('q8'),
  pooling: z.enum(['mean', 'cls']).default('mean'),
  /** Sub-word tokens per sentence fed to the encoder, [CLS] and [SEP] included. */
  max_tokens: z.number().int().min(2).max(8192).default(128),
  /** A text longer than max_tokens: `windows` reads all of it in windows and pools them; `truncate` reads its first max_tokens. */
  long_text: z.enum(['truncate', 'windows']).default('windows'),
  /** windows: pieces consecutive windows share (below the pieces a window holds). */
  window_overlap: z.number().int().nonnegative().default(16),
  batch_size: z.number().int().positive().default(64),
  /** auto: ONNX Runtime's CUDA provider when it loads, else CPU. */
  device: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
  /** ONNX Runtime intra-op threads for one batch at a time (see sentence-encoder.ts); 0 = one per CPU core. */
  threads: z.number().int().nonnegative().default(0),
  head: z.strictObject({
    /** logistic: one dense layer; hidden: dense ReLU layer of `hidden` units then logits; model: the model's own classifier. */
    type: z.enum(['logistic', 'hidden', 'model']).default('logistic'),
    hidden: z.number().int().positive().default(64),
    dropout: z.number().min(0).max(0.95).default(0),
    train: trainSchema,
  }),
});

/** What the export stage writes: the tfjs layers model, the ONNX model. */
export const EXPORT_FORMATS = ['tfjs', 'onnx'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The student sizes a user picks by device (parameter budgets in lib/ml/models/student-sizes.ts). */
export const STUDENT_SIZES = ['tiny', 'small', 'base'] as const;
export type StudentSize = (typeof STUDENT_SIZES)[number];

/** A student architecture: what a size stands for, and what `student.model` may override key by key. */
export const studentModelSchema = z.strictObject({
  /** pool: embedding + mean‖max pooling over real tokens + dense; cnn: convolutions of `kernel_sizes` widths, then the same pooling. */
  arch: z.enum(['pool', 'cnn']),
  embedding_dim: z.number().int().positive(),
  /** A ReLU layer of this many units before the logits (0 = none). */
  hidden: z.number().int().nonnegative(),
  /** cnn: filters per kernel width. */
  filters: z.number().int().positive(),
  kernel_sizes: z.array(z.number().int().positive()).min(1),
  /** Dropout on the pooled features while training (a fresh mask per step); the saved student has none. */
  dropout: z.number().min(0).max(0.9),
});
export type StudentModel = z.infer<typeof studentModelSchema>;

/** One value for every student size, or one per size: {tiny, small, base}. */
function perSize<T extends z.ZodType>(value: T, expected: string) {
  return z.union([value, z.strictObject({ tiny: value, small: value, base: value })], {
    error: `expected ${expected}, or one per student size: {tiny: …, small: …, base: …}`,
  });
}

/** The value of a perSize key for `size`. */
export function forSize(value: number | Record<StudentSize, number>, size: StudentSize): number {
  return typeof value === 'number' ? value : value[size];
}

export const mlParamsSchema = z.object({
  seed: z.number().int().nonnegative(),
  data: z.strictObject({
    path: z.string().min(1),
    format: z.enum(['auto', 'csv', 'jsonl']).default('auto'),
    text_column: z.string().min(1).default('text'),
    label_column: z.string().min(1).default('label'),
    split: z.strictObject({ val: fraction, test: fraction }),
    /** The stratified share of the training split that keeps its labels; the rest joins the transfer set as unlabelled text. */
    label_fraction: z.number().gt(0, 'must be above 0 (a share of the training labels, up to 1)').max(1, 'must be at most 1 (1 keeps every training label)').default(1),
  }),
  text: z.strictObject({
    lowercase: z.boolean().default(true),
    strip_accents: z.boolean().default(false),
    max_len: z.number().int().positive(),
  }),
  vocab: z.strictObject({
    min_freq: z.number().int().positive().default(1),
    max_size: z.number().int().min(3),
    /** Whole words of the transformer teacher's own vocabulary added after the training words (0 = none). */
    encoder_words: z.number().int().nonnegative().default(0),
  }),
  teacher: z.strictObject({
    members: z.array(z.enum(TEACHER_MEMBER_KINDS)).min(1),
    transformer: transformerSchema,
    embedding_dim: z.number().int().positive(),
    cnn: z.strictObject({
      filters: z.number().int().positive(),
      kernel_sizes: z.array(z.number().int().positive()).min(1),
    }),
    bilstm: z.strictObject({ units: z.number().int().positive() }),
    hidden: z.number().int().nonnegative(),
    dropout: z.number().min(0).max(0.95),
    train: trainSchema,
  }),
  soft_labels: z.strictObject({
    augment: z.strictObject({
      /** Augmented sentences per training sentence: one count for every student size, or one per size (a larger student learns from a larger transfer set). */
      copies: perSize(z.number().int().nonnegative(), 'a count (an integer ≥ 0)'),
      mask_prob: z.number().min(0).max(1),
      dropout_prob: z.number().min(0).max(1),
      ngram_prob: z.number().min(0).max(1),
      replace_prob: z.number().min(0).max(1).default(0),
      replace_top_k: z.number().int().positive().default(5),
      /** Mixed sentences per training sentence: its start joined to another's end, labelled by the teacher (0 = none). */
      mix_copies: z.number().int().nonnegative().default(0),
    }),
    /** Also label every vocabulary word on its own (teaches the student words the training split never shows). */
    vocabulary_words: z.boolean().default(false),
    /** Unlabelled text the teacher labels for the student (lib/ml/data/unlabeled-text.ts): CSV, JSON Lines or one sentence a line. */
    unlabeled: z
      .strictObject({
        path: z.union([z.string().min(1), z.array(z.string().min(1))]).default([]),
        /** The column (CSV) or field (JSON Lines) holding the text; a plain text file is one sentence a line. */
        text_column: z.string().min(1).default('text'),
      })
      .default({ path: [], text_column: 'text' }),
  }),
  student: z.strictObject({
    /** tiny | small | base: an architecture and a parameter budget (lib/ml/models/student-sizes.ts); `model` keys refine it. */
    size: z.enum(STUDENT_SIZES).default('tiny'),
    /** encoder: the teacher's own sub-word tokenizer, pruned to the pieces the student learns; words: the project's word vocabulary. */
    tokenizer: z.enum(['encoder', 'words']).default('encoder'),
    /** Pieces per text the student reads with tokenizer: encoder (a paragraph); words read text.max_len. */
    max_tokens: z.number().int().min(1).max(4096).default(256),
    /** encoder: the embedding table starts as the teacher's own piece embeddings reduced by PCA (tokenizer: encoder); random: uniform ±0.05. */
    init: z.enum(['encoder', 'random']).default('encoder'),
    /** init: encoder: weight of an L2 penalty pulling the piece table back toward its start (L2-SP), on the mean squared drift over the start's variance; 0 = none. */
    init_penalty: perSize(z.number().min(0), 'a weight ≥ 0').default({ tiny: 1, small: 0, base: 0 }),
    model: studentModelSchema.partial().default({}),
    train: trainSchema,
    /** Keys of `train` set for one size only, e.g. {base: {learning_rate: 0.01}}: the sizes overfit the transfer set at different rates. */
    train_by_size: z.strictObject({ tiny: trainOverrides, small: trainOverrides, base: trainOverrides }).default({ tiny: { epochs: 8, ema_momentum: 0.99 } }),
    temperature: z.number().positive(),
    alpha: z.number().min(0).max(1),
    loss: z.enum(['kl', 'mse']),
  }),
  evaluate: z.strictObject({
    latency_runs: z.number().int().positive(),
    throughput_batch: z.number().int().positive(),
  }),
  export: z.strictObject({
    quantize: z.array(z.enum(['float16', 'uint8'])),
    /** tfjs: model.json + weights (and the quantize variants); onnx: onnx/model.onnx + model.int8.onnx. */
    formats: z
      .array(z.enum(EXPORT_FORMATS))
      .min(1, 'name at least one export format (tfjs, onnx)')
      .refine((formats) => new Set(formats).size === formats.length, 'names a format twice')
      .default([...EXPORT_FORMATS]),
  }),
});

export type MlParams = z.infer<typeof mlParamsSchema>;
export type TrainParams = z.infer<typeof trainSchema>;

/** soft_labels.augment.copies for the student size params.yaml picks. */
export function augmentCopies(params: Pick<MlParams, 'soft_labels' | 'student'>): number {
  return forSize(params.soft_labels.augment.copies, params.student.size);
}

/** Reads and validates `<root>/params.yaml` (what every ML stage calls first). */
export function loadMlParams(root: string): MlParams {
  const file = path.join(root, 'params.yaml');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new KdError(`params.yaml not found in ${root}`);
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    throw new KdError(`params.yaml: ${(error as Error).message}`);
  }
  return parseOrThrow(mlParamsSchema, raw, 'params.yaml');
}
