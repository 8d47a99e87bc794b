import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { buildStudent } from '../../lib/ml/models/models.js';
import { prunedTokenizer, TOKENIZER_CONFIG_FILE, TOKENIZER_FILE } from '../../lib/ml/text/student-tokenizer.js';

export const VOCAB: Record<string, number> = { '<pad>': 0, '<unk>': 1, good: 2, great: 3, love: 4, bad: 5, awful: 6, hate: 7, movie: 8, 'schön': 9 };
export const LABELS = ['negative', 'positive'];
const POSITIVE = new Set(['good', 'great', 'love', 'schön']);
const NEGATIVE = new Set(['bad', 'awful', 'hate']);

/** Saves `model` as the export stage does (model.json + one weight file) into `dir`. */
async function saveModel(model: tf.LayersModel, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = Buffer.from(artifacts.weightData as ArrayBuffer);
      writeFileSync(path.join(dir, 'group1-shard1of1.bin'), weights);
      const modelJson = {
        format: 'layers-model',
        generatedBy: 'kd-pipeline test',
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: artifacts.weightSpecs }],
      };
      writeFileSync(path.join(dir, 'model.json'), JSON.stringify(modelJson));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  model.dispose();
}

/** The files every export has besides the model: vocab, labels, preprocessing, metadata, model card. */
function writeExportFiles(dir: string, fingerprint: string, vocab: Record<string, number>, preprocessing: Record<string, unknown>): void {
  writeFileSync(path.join(dir, 'vocab.json'), JSON.stringify(vocab));
  writeFileSync(path.join(dir, 'labels.json'), JSON.stringify(LABELS));
  writeFileSync(path.join(dir, 'preprocessing.json'), JSON.stringify(preprocessing));
  writeFileSync(
    path.join(dir, 'metadata.json'),
    JSON.stringify({ name: 'kd-student', version: '1', fingerprint, exported_at: new Date().toISOString(), metrics: { accuracy: 1 } }),
  );
  writeFileSync(path.join(dir, 'model-card.md'), `# kd-student\n\nTest export ${fingerprint}.\n`);
}

/** Embedding rows that push "positive" for positive words, "negative" for negative ones. */
const sentimentRows = (tokens: readonly string[], positive: (t: string) => boolean, negative: (t: string) => boolean) =>
  tokens.flatMap((token) => (positive(token) ? [0, 40] : negative(token) ? [40, 0] : [0, 0]));

/**
 * Writes a real export directory like the export stage's (an export of an earlier version: a
 * student over words): a tiny tfjs layers model (embedding → mean pooling → dense logits) whose
 * weights make positive words push "positive", plus vocab, labels, preprocessing and metadata.
 * `fingerprint` tells two exports apart in answers.
 */
export async function writeExport(dir: string, fingerprint: string, options: { maxLen?: number } = {}): Promise<string> {
  const maxLen = options.maxLen ?? 8;
  const size = Object.keys(VOCAB).length;
  const model = tf.sequential({
    layers: [
      tf.layers.embedding({ inputDim: size, outputDim: 2, inputLength: maxLen, inputShape: [maxLen] }),
      tf.layers.globalAveragePooling1d(),
      tf.layers.dense({ units: LABELS.length }),
    ],
  });
  model.layers[0]!.setWeights([tf.tensor2d(sentimentRows(Object.keys(VOCAB), (w) => POSITIVE.has(w), (w) => NEGATIVE.has(w)), [size, 2])]);
  model.layers[2]!.setWeights([tf.tensor2d([1, 0, 0, 1], [2, 2]), tf.tensor1d([0, 0])]);
  await saveModel(model, dir);
  writeExportFiles(dir, fingerprint, VOCAB, { lowercase: true, strip_accents: false, max_len: maxLen });
  return dir;
}

/**
 * An export as the export stage writes it today: a student over the teacher's sub-word pieces
 * (masked pooling over any length) with its pruned tokenizer.json, built from the real default
 * encoder's tokenizer. Positive and negative words are pieces of their own here.
 */
export async function writePiecesExport(dir: string, fingerprint: string, encoderDir: string): Promise<string> {
  const full = JSON.parse(readFileSync(path.join(encoderDir, TOKENIZER_FILE), 'utf8'));
  const config = JSON.parse(readFileSync(path.join(encoderDir, TOKENIZER_CONFIG_FILE), 'utf8'));
  const words = [...POSITIVE, ...NEGATIVE, 'movie', 'this', 'it', 'is', 'no', 'i'];
  const tokenizer = prunedTokenizer(full, config, words, 32, 'tokenizer.json');
  const pieces = Object.entries(tokenizer.model.vocab).sort(([, a], [, b]) => a - b).map(([piece]) => piece);
  const model = buildStudent(tf, { arch: 'pool', embedding_dim: 2, hidden: 0, filters: 1, kernel_sizes: [1] }, { vocabSize: pieces.length, numClasses: LABELS.length, seed: 1 });
  const positive = new Set(['good', 'great', 'love']);
  model.layers.find((layer) => layer.getClassName() === 'Embedding')!.setWeights([tf.tensor2d(sentimentRows(pieces, (p) => positive.has(p), (p) => NEGATIVE.has(p)), [pieces.length, 2])]);
  // mean‖max of the 2-d pieces → logits from the mean only.
  model.layers.find((layer) => layer.getClassName() === 'Dense')!.setWeights([tf.tensor2d([1, 0, 0, 1, 0, 0, 0, 0], [4, 2]), tf.tensor1d([0, 0])]);
  await saveModel(model, dir);
  writeFileSync(path.join(dir, TOKENIZER_FILE), JSON.stringify(tokenizer));
  writeFileSync(path.join(dir, TOKENIZER_CONFIG_FILE), JSON.stringify(config));
  writeExportFiles(dir, fingerprint, VOCAB, { tokenizer: 'pieces', lowercase: true, strip_accents: false, max_len: 32 });
  return dir;
}

/**
 * Writes `<dir>/uint8/`: the export's model with every weight quantized to uint8 (affine, with
 * min and scale in the manifest, as tfjs's converter writes them), read back by tfjs on load.
 */
export function writeUint8Variant(dir: string): void {
  const modelJson = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) as {
    weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: string; quantization?: unknown }[] }[];
  };
  const group = modelJson.weightsManifest[0]!;
  const raw = readFileSync(path.join(dir, group.paths[0]!));
  const floats = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const bytes: number[] = [];
  let offset = 0;
  for (const spec of group.weights) {
    const values = floats.subarray(offset, offset + spec.shape.reduce((a, b) => a * b, 1));
    offset += values.length;
    const min = Math.min(...values);
    const scale = (Math.max(...values) - min) / 255 || 1;
    for (const value of values) bytes.push(Math.round((value - min) / scale));
    spec.quantization = { dtype: 'uint8', min, scale };
  }
  mkdirSync(path.join(dir, 'uint8'), { recursive: true });
  writeFileSync(path.join(dir, 'uint8', group.paths[0]!), Uint8Array.from(bytes));
  writeFileSync(path.join(dir, 'uint8', 'model.json'), JSON.stringify(modelJson));
}
