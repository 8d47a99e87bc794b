import path from 'node:path';
import type * as tfTypes from '@tensorflow/tfjs';
import { KdError } from '../../errors.js';
import { loadTf } from '../backend/backend.js';
import { dirBytes, loadLayersModel, type Classifier } from '../models/model-io.js';
import { loadMlParams } from '../params.js';
import { ENCODER_DIR, readEncoderFolder } from './encoder-folder.js';
import { TeacherEncoder } from './teacher-encoder.js';
import { embeddingTensor } from './transformer-member.js';
import { readTransformerMember } from './transformer-member-info.js';

/**
 * A transformer teacher member as a Classifier: texts → the project's encoder (models/encoder,
 * which must be the one the member was trained on) → its head. Batch size, device and threads
 * come from params.yaml; everything that shapes the embeddings from the member's transformer.json.
 */
export async function transformerClassifier(dir: string, root: string): Promise<Classifier> {
  const member = readTransformerMember(dir);
  const folder = readEncoderFolder(root);
  if (folder.info.fingerprint !== member.encoder_fingerprint) {
    throw new KdError(`${dir}: trained on another encoder than ${ENCODER_DIR} (${member.model}, fingerprint ${member.encoder_fingerprint.slice(0, 12)} ≠ ${folder.info.fingerprint.slice(0, 12)}): rerun train-teacher`);
  }
  const runtime = loadMlParams(root).teacher.transformer;
  const p = { ...runtime, model: member.model, dtype: member.dtype as typeof runtime.dtype, pooling: member.pooling, max_tokens: member.max_tokens, long_text: member.long_text, window_overlap: member.window_overlap };
  const output = member.head === 'model' ? 'logits' : 'embedding';
  const encoder = await TeacherEncoder.open(root, p, output);
  const { tf } = await loadTf();
  const head = member.head === 'model' ? undefined : await loadLayersModel(dir);
  const encoderBytes = Object.values(folder.info.files).reduce((sum, f) => sum + f.size, 0);
  const label = `teacher (${path.basename(dir)})`;
  return {
    async predictLogits(inputs, options) {
      const texts = inputs.map((input) => input.text);
      const rows = options?.cached === false ? await encoder.encoder.encode(texts) : await encoder.encode(texts, options?.progress === false ? undefined : label);
      if (!head) return rows.map((row) => member.label_columns!.map((c) => row[c]!));
      const logits = tf.tidy(() => head.predict(embeddingTensor(tf, rows, encoder.encoder.dim)) as tfTypes.Tensor2D);
      const out = (await logits.array()) as number[][];
      logits.dispose();
      return out;
    },
    encodingStats: encoder.stats,
    paramCount: member.encoder_params + (head?.countParams() ?? 0),
    sizeBytes: encoderBytes + (head ? dirBytes(dir) : 0),
    async dispose() {
      head?.dispose();
      await encoder.dispose();
    },
  };
}
