import type * as tfTypes from '@tensorflow/tfjs';
import type { Tf } from './backend/backend.js';

export interface DistillOptions {
  /** Weight of the soft-target term; 1 − alpha weighs the hard-label cross-entropy. */
  alpha: number;
  temperature: number;
  /** 'kl': Hinton soft targets; 'mse': squared error between teacher and student logits. */
  loss: 'kl' | 'mse';
}

/**
 * Mean over the batch of α·T²·KL(softmax(t/T) ‖ softmax(s/T)) + (1−α)·CE(s, y)
 * (or α·MSE(s, t) + (1−α)·CE(s, y)). T² keeps the soft term's gradient scale independent of T.
 *
 * `labelled` (1/0 per row) marks rows without a hard label, such as the augmented transfer set:
 * the soft term still averages over every row, the CE term only over the labelled ones (0 when a
 * batch has none), so an unlabelled row is taught by the teacher alone.
 */
export function distillationLoss(
  tf: Tf,
  studentLogits: tfTypes.Tensor2D,
  teacherLogits: tfTypes.Tensor2D,
  labels: tfTypes.Tensor1D,
  { alpha, temperature: T, loss }: DistillOptions,
  labelled?: tfTypes.Tensor1D,
): tfTypes.Scalar {
  return tf.tidy(() => {
    const onehot = tf.oneHot(labels, studentLogits.shape[1]);
    const hard = labelled
      ? tf.losses
          .softmaxCrossEntropy(onehot, studentLogits, undefined, undefined, tf.Reduction.NONE)
          .mul(labelled)
          .sum()
          .div(labelled.sum().maximum(1))
      : tf.losses.softmaxCrossEntropy(onehot, studentLogits);
    const soft =
      loss === 'mse'
        ? tf.losses.meanSquaredError(teacherLogits, studentLogits)
        : (() => {
            const pTeacher = tf.softmax(teacherLogits.div(T));
            const kl = pTeacher.mul(tf.logSoftmax(teacherLogits.div(T)).sub(tf.logSoftmax(studentLogits.div(T))));
            return kl.sum(1).mean().mul(T * T);
          })();
    return soft.mul(alpha).add(hard.mul(1 - alpha)) as tfTypes.Scalar;
  });
}
