import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import type * as tfTypes from '@tensorflow/tfjs';
import { loadTf } from '../../lib/ml/backend/backend.js';
import { buildStudent } from '../../lib/ml/models/models.js';
import { saveLayersModel } from '../../lib/ml/models/model-io.js';
import { readFloatModel } from '../../lib/ml/models/layers-files.js';
import { SIZE_PRESETS } from '../../lib/ml/models/student-sizes.js';
import { ONNX_FILES, ONNX_TOKENIZER_FILE, onnxModels, onnxTokenizer, type StudentTokenizer } from '../../lib/ml/export/onnx/onnx-export.js';
import { padRows, pieceEncoder, wordEncoder, type InputEncoder } from '../../lib/ml/text/student-input.js';
import { prunedTokenizer, TOKENIZER_CONFIG_FILE } from '../../lib/ml/text/student-tokenizer.js';
import { tokenize } from '../../lib/ml/text/text.js';
import { buildVocab } from '../../lib/ml/text/vocab.js';
import type { StudentModel } from '../../lib/ml/params.js';
import { REPO } from './encoder-fixture.js';

export const LABELS = ['negative', 'positive'];
const MAX_LEN = 64;
const TEXT_OPTIONS = { lowercase: true, strip_accents: false };

/** Every student architecture there is: the bag of embeddings with and without its hidden layer, and the tiny size's CNN. */
export const ARCHITECTURES: Record<string, StudentModel> = {
  pool: { arch: 'pool', embedding_dim: 8, filters: 1, kernel_sizes: [1], hidden: 0 },
  'pool-hidden': { arch: 'pool', embedding_dim: 8, filters: 1, kernel_sizes: [1], hidden: 16 },
  cnn: SIZE_PRESETS.tiny.model,
};

/** The sentence the export README's examples classify. */
export const EXAMPLE_TEXT = 'this film was great';
/** Chinese: the word student's tokenizer.json cannot segment it (WORD_TOKENIZER_LIMITS), the pieces one can. */
export const CJK_TEXT = '这部电影很好看';
/** Texts a tokenizer could trip on, besides the bundled data's: empty, accents, other scripts, longer than max_len. */
const EDGE_TEXTS = [EXAMPLE_TEXT, '', CJK_TEXT, 'Café crème, naïve résumé!', 'Ça ne marche pas… NOT good!!!', "don't won't e-mail", 'Das Essen war schön 😀', 'word '.repeat(100).trim()];

export interface OnnxStudentCase {
  name: string;
  tokenizer: 'words' | 'pieces';
  dir: string;
  /** The test sentences and their ids as kd-pipeline encodes them. */
  texts: string[];
  ids: Int32Array[];
  /** Softmax of the float32 tfjs model, one sentence at a time. */
  probabilities: number[][];
}

function sentences(): { text: string; y: number }[] {
  const rows = parse(readFileSync(path.join(REPO, 'data/sentiment-labelled-sentences.csv')), { columns: true }) as { text: string; label: string }[];
  return rows.map((row) => ({ text: row.text, y: LABELS.indexOf(row.label) }));
}

async function trainBriefly(tf: Awaited<ReturnType<typeof loadTf>>['tf'], model: tfTypes.LayersModel, rows: Int32Array[], y: number[]): Promise<void> {
  const { ids, width } = padRows(rows, null);

  // Logits out, so the loss is fed a softmax; a few epochs give the margins of a trained student.
  const probs = tf.model({ inputs: model.inputs, outputs: tf.layers.softmax().apply(model.outputs[0]!) as tfTypes.SymbolicTensor });
  probs.compile({ optimizer: tf.train.adam(0.01), loss: 'sparseCategoricalCrossentropy' });
  const x = tf.tensor2d(ids, [rows.length, width], 'int32');
  const labels = tf.tensor1d(y, 'float32');
  await probs.fit(x, labels, { epochs: 4, batchSize: 32, verbose: 0, shuffle: false });
  x.dispose();
  labels.dispose();
}

/**
 * One exported ONNX student (float32 and int8 files, tokenizer.json) per architecture and
 * tokenizer, each briefly trained on every 10th sentence of the bundled data (its tokenizer and
 * vocabulary from all of it, as big as a real student's) and tested on 100 others plus edge cases.
 */
export async function onnxStudentCases(root: string): Promise<OnnxStudentCase[]> {
  const { tf } = await loadTf();
  const data = sentences();
  const train = data.filter((_, i) => i % 10 === 0);
  const texts = [...data.filter((_, i) => i % 30 === 1).slice(0, 100).map((row) => row.text), ...EDGE_TEXTS];
  const encoderDir = path.join(REPO, 'models/encoder');
  const config = JSON.parse(readFileSync(path.join(encoderDir, TOKENIZER_CONFIG_FILE), 'utf8')) as Record<string, unknown>;
  const pieces = prunedTokenizer(JSON.parse(readFileSync(path.join(encoderDir, 'tokenizer.json'), 'utf8')), config, data.map((row) => row.text), MAX_LEN, 'tokenizer.json');
  const vocab = buildVocab(data.map((row) => tokenize(row.text, TEXT_OPTIONS)), 1, 100_000);
  const tokenizers: Record<'words' | 'pieces', { encoder: InputEncoder; vocabSize: number; spec: StudentTokenizer; config: Record<string, unknown> }> = {
    words: { encoder: wordEncoder(vocab, TEXT_OPTIONS, MAX_LEN), vocabSize: Object.keys(vocab).length, spec: { kind: 'words', vocab, options: TEXT_OPTIONS, maxLen: MAX_LEN }, config: { unk_token: '<unk>', pad_token: '<pad>' } },
    pieces: { encoder: pieceEncoder(pieces, config), vocabSize: Object.keys(pieces.model.vocab).length, spec: { kind: 'pieces', tokenizerJson: JSON.stringify(pieces) }, config },
  };

  const cases: OnnxStudentCase[] = [];
  for (const [kind, tokenizer] of Object.entries(tokenizers) as [keyof typeof tokenizers, (typeof tokenizers)[keyof typeof tokenizers]][]) {
    const ids = texts.map((text) => tokenizer.encoder.ids(text));
    for (const [arch, spec] of Object.entries(ARCHITECTURES)) {
      const name = `${arch}-${kind}`;
      const dir = path.join(root, name);
      const model = buildStudent(tf, spec, { vocabSize: tokenizer.vocabSize, numClasses: LABELS.length, seed: 7 });
      await trainBriefly(tf, model, train.map((row) => tokenizer.encoder.ids(row.text)), train.map((row) => row.y));
      await saveLayersModel(model, dir);
      const probabilities = ids.map((row) => tf.tidy(() => Array.from(tf.softmax(model.predict(tf.tensor2d(row.length ? row : [0], [1, Math.max(row.length, 1)], 'int32')) as tfTypes.Tensor).dataSync())));
      model.dispose();
      const models = onnxModels(readFloatModel(dir), LABELS, { producerVersion: 'test', tokenizer: kind });
      for (const [precision, bytes] of Object.entries(models)) writeFileSync(path.join(dir, ONNX_FILES[precision as keyof typeof ONNX_FILES]), bytes);
      writeFileSync(path.join(dir, ONNX_TOKENIZER_FILE), onnxTokenizer(tokenizer.spec).json);
      writeFileSync(path.join(dir, TOKENIZER_CONFIG_FILE), JSON.stringify(tokenizer.config));
      cases.push({ name, tokenizer: kind, dir, texts, ids, probabilities });
    }
  }
  mkdirSync(root, { recursive: true });
  return cases;
}
