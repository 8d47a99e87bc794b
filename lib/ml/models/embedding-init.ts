import type * as tfTypes from '@tensorflow/tfjs';
import type { Tf } from '../backend/backend.js';

// Subspace iterations for the principal directions: ample for a 384 × 384 covariance.
const ITERATIONS = 40;
/** Global standard deviation of the initial table: a few times the random initialiser's (uniform ±0.05), so training refines it rather than erasing it. */
const INIT_STD = 0.1;

/**
 * L2-SP (Li et al. 2018): `weight` × the mean squared drift of `table` from `start`, over the
 * start's variance (INIT_STD²), as a loss term. Pieces the transfer set rarely shows then keep the
 * teacher's geometry, which the filters trained on the frequent pieces read.
 */
export function pullTowardStart(tf: Tf, table: tfTypes.Variable, start: tfTypes.Tensor2D, weight: number): () => tfTypes.Scalar {
  const scale = weight / INIT_STD ** 2;
  return () => tf.tidy(() => table.sub(start).square().mean().mul(scale) as tfTypes.Scalar);
}

/**
 * A student's initial embedding table from the teacher's own input embeddings: the rows of
 * `table` [source rows × width] picked by `sourceIds` (one per student row; the pad row stays 0),
 * projected on their `dim` principal directions (PCA by subspace iteration on the covariance) and
 * scaled to a standard deviation of INIT_STD. What the teacher learnt about each piece gives
 * the student a head start that a random table lacks (Model2Vec-style, without encoding anything).
 */
export function pcaEmbeddings(tf: Tf, table: { width: number; data: Float32Array }, sourceIds: Int32Array, dim: number, seed: number): tfTypes.Tensor2D {
  return tf.tidy(() => {
    const all = tf.tensor2d(table.data, [table.data.length / table.width, table.width]);
    const rows = all.gather(tf.tensor1d(sourceIds.subarray(1), 'int32'));
    const centred = rows.sub(rows.mean(0));
    const covariance = centred.transpose().matMul(centred).div(rows.shape[0]) as tfTypes.Tensor2D;
    let basis = tf.linalg.qr(tf.randomNormal([table.width, dim], 0, 1, 'float32', seed))[0] as tfTypes.Tensor2D;
    for (let i = 0; i < ITERATIONS; i++) basis = tf.linalg.qr(covariance.matMul(basis))[0] as tfTypes.Tensor2D;
    const projected = centred.matMul(basis);
    const scaled = projected.div(tf.moments(projected).variance.sqrt()).mul(INIT_STD);
    return tf.concat([tf.zeros([1, dim]), scaled]) as tfTypes.Tensor2D;
  });
}
