import path from 'node:path';
import type * as tfTypes from '@tensorflow/tfjs';
import { KdError } from '../../errors.js';
import type { Tf } from '../backend/backend.js';
import { type Example, readLabels, readSplit, readVocab } from './dataset.js';
import { encode } from '../text/text.js';
import { type InputEncoder, padRows } from '../text/student-input.js';
import type { LossFn, TrainData } from '../train/train.js';

/** What every training stage reads from preprocess and build-vocab. */
export interface TrainingInputs {
  vocab: Record<string, number>;
  labels: string[];
  train: Example[];
  val: Example[];
}

/** The files behind TrainingInputs, relative to the project root (also what checkpoints fingerprint). */
export const DATA_DIR = 'artifacts/data';
export const VOCAB_FILE = 'artifacts/vocab.json';
/** In DATA_DIR with data.label_fraction < 1: the training sentences whose labels were set aside (text and tokens only). */
export const UNLABELED_SPLIT = 'unlabeled.jsonl';

export function readTrainingInputs(root: string): TrainingInputs {
  const file = (name: string) => path.join(root, DATA_DIR, name);
  const inputs = {
    vocab: readVocab(path.join(root, VOCAB_FILE)),
    labels: readLabels(file('labels.json')),
    train: readSplit(file('train.jsonl')),
    val: readSplit(file('val.jsonl')),
  };
  // Early stopping and best-weights restore are judged on the validation split.
  if (inputs.val.length === 0) throw new KdError(`${path.join(DATA_DIR, 'val.jsonl')}: empty — training needs a validation split (params.yaml data.split.val > 0)`);
  if (inputs.train.length === 0) throw new KdError(`${path.join(DATA_DIR, 'train.jsonl')}: empty`);
  return inputs;
}

/** The sizes models.ts needs besides the seed. */
export function modelShape(inputs: TrainingInputs, maxLen: number): { vocabSize: number; maxLen: number; numClasses: number } {
  return { vocabSize: Object.keys(inputs.vocab).length, maxLen, numClasses: inputs.labels.length };
}

/** Token ids [rows, maxLen] (int32) for tokenised sentences. */
export function encodeIds(tf: Tf, sentences: readonly (readonly string[])[], vocab: Readonly<Record<string, number>>, maxLen: number): tfTypes.Tensor2D {
  const ids = new Int32Array(sentences.length * maxLen);
  sentences.forEach((tokens, i) => ids.set(encode(tokens, vocab, maxLen), i * maxLen));
  return tf.tensor2d(ids, [sentences.length, maxLen], 'int32');
}

/** Plain cross-entropy on the hard labels (teacher and baseline). */
export function crossEntropyLoss(tf: Tf, numClasses: number): LossFn {
  return (logits, batch) => tf.losses.softmaxCrossEntropy(tf.oneHot(batch.labels, numClasses), logits) as tfTypes.Scalar;
}

/** Ids and hard labels of a split. */
export function hardLabelData(tf: Tf, examples: readonly Example[], vocab: Readonly<Record<string, number>>, maxLen: number): TrainData {
  return {
    ids: encodeIds(tf, examples.map((example) => example.tokens), vocab, maxLen),
    labels: tf.tensor1d(examples.map((example) => example.y), 'int32'),
  };
}

/**
 * Texts as the student reads them: ids padded to the longest row, and each row's real length, so
 * training can cut every batch to its own longest row (most sentences are far shorter than
 * `student.max_tokens`). `tokens` are used by a word encoder when present.
 */
export function studentIds(tf: Tf, encoder: InputEncoder, rows: readonly { text: string; tokens?: readonly string[] }[]): { ids: tfTypes.Tensor2D; lengths: Int32Array } {
  const encoded = rows.map((row) => encoder.ids(row.text, row.tokens));
  const { ids, width } = padRows(encoded, null);
  return { ids: tf.tensor2d(ids, [rows.length, width], 'int32'), lengths: Int32Array.from(encoded, (row) => row.length) };
}

/** Ids, lengths and hard labels of a split as the student reads it. */
export function studentHardLabelData(tf: Tf, encoder: InputEncoder, examples: readonly Example[]): TrainData {
  return { ...studentIds(tf, encoder, examples), labels: tf.tensor1d(examples.map((example) => example.y), 'int32') };
}
