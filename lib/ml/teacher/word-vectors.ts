import type * as tfTypes from '@tensorflow/tfjs';
import type { Tf } from '../backend/backend.js';
import type { MlParams } from '../params.js';
import { PAD, UNK } from '../text/text.js';
import { TeacherEncoder } from './teacher-encoder.js';
import { embeddingTensor } from './transformer-member.js';

// Subspace iterations for the top principal directions: plenty for a 384 × 384 covariance.
const PCA_ITERATIONS = 60;
// The spread of the initial table, about that of the default uniform(±0.05) initialiser's trained rows.
const INIT_STD = 0.05;

/** The top-`k` principal directions [dim, k] of the rows of `x` (centred), by subspace iteration from a seeded start. */
function principalDirections(tf: Tf, x: tfTypes.Tensor2D, k: number, seed: number): tfTypes.Tensor2D {
  return tf.tidy(() => {
    const centred = x.sub(x.mean(0));
    const covariance = tf.matMul(centred, centred, true, false).div(x.shape[0]) as tfTypes.Tensor2D;
    let q = tf.randomNormal([x.shape[1], k], 0, 1, 'float32', seed) as tfTypes.Tensor2D;
    for (let i = 0; i < PCA_ITERATIONS; i++) q = tf.linalg.qr(tf.matMul(covariance, q))[0] as tfTypes.Tensor2D;
    return q;
  });
}

/**
 * An initial embedding table [vocab, k] for the student from the teacher: each vocabulary word
 * encoded alone by the teacher's encoder (through the embedding cache: generate-soft-labels has
 * usually encoded them already), projected on the top-k principal directions of those vectors and
 * scaled to a small spread, as Model2Vec distils a sentence encoder into static word vectors.
 * <pad> and <unk> start at zero.
 */
export async function teacherWordEmbeddings(tf: Tf, root: string, params: MlParams, vocab: Readonly<Record<string, number>>, k: number): Promise<tfTypes.Tensor2D> {
  const words = Object.keys(vocab).filter((token) => token !== PAD && token !== UNK);
  const encoder = await TeacherEncoder.open(root, params.teacher.transformer, 'embedding');
  let vectors: Float32Array[];
  try {
    vectors = await encoder.encode(words, 'train-student (vocabulary words for the embedding init)');
  } finally {
    await encoder.dispose();
  }
  return tf.tidy(() => {
    const x = embeddingTensor(tf, vectors, vectors[0]!.length);
    const projected = tf.matMul(x.sub(x.mean(0)), principalDirections(tf, x, k, params.seed));
    const scaled = projected.div(tf.moments(projected).variance.sqrt().add(1e-12)).mul(INIT_STD);
    const rows = scaled.arraySync() as number[][];
    const table = new Float32Array(Object.keys(vocab).length * k);
    words.forEach((word, i) => table.set(rows[i]!, vocab[word]! * k));
    return tf.tensor2d(table, [Object.keys(vocab).length, k]);
  });
}
