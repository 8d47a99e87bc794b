import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

export const VOCAB: Record<string, number> = { '<pad>': 0, '<unk>': 1, good: 2, great: 3, love: 4, bad: 5, awful: 6, hate: 7, movie: 8, 'schön': 9 };
export const LABELS = ['negative', 'positive'];
const POSITIVE = new Set(['good', 'great', 'love', 'schön']);
const NEGATIVE = new Set(['bad', 'awful', 'hate']);

/**
 * Writes a real export directory like the export stage's: a tiny tfjs layers model (embedding →
 * mean pooling → dense logits) whose weights make positive words push "positive", plus vocab,
 * labels, preprocessing and metadata. `fingerprint` tells two exports apart in answers.
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
  const embedding = Object.keys(VOCAB).flatMap((word) => (POSITIVE.has(word) ? [0, 40] : NEGATIVE.has(word) ? [40, 0] : [0, 0]));
  model.layers[0]!.setWeights([tf.tensor2d(embedding, [size, 2])]);
  model.layers[2]!.setWeights([tf.tensor2d([1, 0, 0, 1], [2, 2]), tf.tensor1d([0, 0])]);

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
  writeFileSync(path.join(dir, 'vocab.json'), JSON.stringify(VOCAB));
  writeFileSync(path.join(dir, 'labels.json'), JSON.stringify(LABELS));
  writeFileSync(path.join(dir, 'preprocessing.json'), JSON.stringify({ lowercase: true, strip_accents: false, max_len: maxLen }));
  writeFileSync(
    path.join(dir, 'metadata.json'),
    JSON.stringify({ name: 'kd-student', version: '1', fingerprint, exported_at: new Date().toISOString(), metrics: { accuracy: 1 } }),
  );
  writeFileSync(path.join(dir, 'model-card.md'), `# kd-student\n\nTest export ${fingerprint}.\n`);
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
