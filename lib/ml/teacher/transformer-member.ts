import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type * as tfTypes from '@tensorflow/tfjs';
import { KdError } from '../../errors.js';
import type { Tf } from '../backend/backend.js';
import type { Example } from '../data/dataset.js';
import { buildEmbeddingHead } from '../models/models.js';
import { saveLayersModel } from '../models/model-io.js';
import type { MlParams } from '../params.js';
import type { TrainMember } from '../train/train-stage.js';
import { ENCODER_DIR, type TransformerParams } from './encoder-folder.js';
import { TeacherEncoder } from './teacher-encoder.js';
import { TRANSFORMER_JSON, type TransformerMemberInfo } from './transformer-member-info.js';

function memberInfo(p: TransformerParams, encoder: TeacherEncoder, labelColumns?: number[]): TransformerMemberInfo {
  return {
    kind: 'transformer',
    model: p.model,
    dtype: p.dtype,
    pooling: p.pooling,
    max_tokens: p.max_tokens,
    long_text: p.long_text,
    window_overlap: p.window_overlap,
    head: p.head.type,
    encoder_fingerprint: encoder.encoder.info.fingerprint,
    encoder_params: encoder.encoder.paramCount,
    ...(labelColumns ? { label_columns: labelColumns } : {}),
  };
}

/** Which logit column of the model's own classifier holds each data label; an error when the label sets differ. */
function labelColumns(id2label: Record<number, string>, labels: readonly string[]): number[] {
  const modelLabels = Object.entries(id2label)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([, name]) => name);
  const norm = (s: string) => s.trim().toLowerCase();
  const columns = labels.map((label) => modelLabels.findIndex((name) => norm(name) === norm(label)));
  if (columns.some((c) => c < 0) || modelLabels.length !== labels.length) {
    throw new KdError(
      `params.yaml: teacher.transformer.head.type: model: the model's labels [${modelLabels.join(', ')}] (config.json id2label) do not match the data's [${labels.join(', ')}]: ` +
        `train a head on its embeddings instead (head.type: logistic or hidden)`,
    );
  }
  return columns;
}

const texts = (examples: readonly Example[]) => examples.map((example) => example.text);

/**
 * The transformer teacher member: the frozen encoder's sentence embeddings of the train and
 * validation splits (through the embedding cache), and a head trained on them — or, with
 * `head.type: model`, the model's own classifier used as it is.
 */
export async function transformerMember(tf: Tf, root: string, params: MlParams, train: readonly Example[], val: readonly Example[], labels: readonly string[]): Promise<TrainMember> {
  const p = params.teacher.transformer;
  if (p.head.type === 'model') {
    const encoder = await TeacherEncoder.open(root, p, 'logits');
    try {
      const columns = labelColumns(encoder.encoder.id2label, labels);
      const rows = await encoder.encode(texts(val), 'train-teacher (validation split)');
      const info = memberInfo(p, encoder, columns);
      return {
        kind: 'transformer',
        pretrained: true,
        valLogits: tf.tensor2d(rows.map((row) => columns.map((c) => row[c]!)), [rows.length, labels.length]),
        params: encoder.encoder.paramCount,
        save: async (dir: string) => writeMemberJson(dir, info),
      };
    } finally {
      await encoder.dispose();
    }
  }
  const encoder = await TeacherEncoder.open(root, p, 'embedding');
  try {
    const [trainRows, valRows] = [await encoder.encode(texts(train), 'train-teacher (training split)'), await encoder.encode(texts(val), 'train-teacher (validation split)')];
    process.stderr.write(`train-teacher: ${p.model} embeddings (${encoder.encoder.dim}-d, ${encoder.encoder.provider}): ${encoder.stats.encoded} encoded, ${encoder.stats.cached} from the cache\n`);
    const info = memberInfo(p, encoder);
    const data = (rows: Float32Array[], examples: readonly Example[]) => ({
      ids: embeddingTensor(tf, rows, encoder.encoder.dim) as unknown as tfTypes.Tensor2D,
      labels: tf.tensor1d(examples.map((example) => example.y), 'int32'),
    });
    return {
      kind: 'transformer',
      build: (seed) => buildEmbeddingHead(tf, p.head as { type: 'logistic' | 'hidden'; hidden: number; dropout: number }, encoder.encoder.dim, labels.length, seed),
      train: data(trainRows, train),
      val: data(valRows, val),
      frozenParams: encoder.encoder.paramCount,
      trainParams: p.head.train,
      save: async (model, dir) => {
        await saveLayersModel(model, dir);
        writeMemberJson(dir, info);
      },
    };
  } finally {
    await encoder.dispose();
  }
}

function writeMemberJson(dir: string, info: TransformerMemberInfo): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, TRANSFORMER_JSON), `${JSON.stringify(info, null, 2)}\n`);
}

/** Rows of equal width as one float32 [rows, dim] tensor. */
export function embeddingTensor(tf: Tf, rows: readonly Float32Array[], dim: number): tfTypes.Tensor2D {
  const flat = new Float32Array(rows.length * dim);
  rows.forEach((row, i) => flat.set(row, i * dim));
  return tf.tensor2d(flat, [rows.length, dim], 'float32');
}

/** The encoder folder a transformer member needs, relative to the project root (a dep of every stage that runs one). */
export const TRANSFORMER_INPUTS = [ENCODER_DIR];
