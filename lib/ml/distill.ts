import type * as tfTypes from '@tensorflow/tfjs';
import type { Tf } from './backend.js';

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
 */
export function distillationLoss(
  tf: Tf,
  studentLogits: tfTypes.Tensor2D,
  teacherLogits: tfTypes.Tensor2D,
  labels: tfTypes.Tensor1D,
  { alpha, temperature: T, loss }: DistillOptions,
): tfTypes.Scalar {
  return tf.tidy(() => {
    const hard = tf.losses.softmaxCrossEntropy(tf.oneHot(labels, studentLogits.shape[1]), studentLogits);
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
