import { describe, expect, it } from 'vitest';
import { loadTf } from '../../lib/ml/backend/backend.js';
import { distillationLoss } from '../../lib/ml/distill.js';

const { tf } = await loadTf();
const student = () => tf.tensor2d([[1, 0]]);
const teacher = tf.tensor2d([[0, Math.log(3)]]); // softmax = [0.25, 0.75]
const label = tf.tensor1d([0], 'int32');
const value = (opts: Parameters<typeof distillationLoss>[4]) =>
  distillationLoss(tf, student(), teacher, label, opts).dataSync()[0]!;

// Hand-computed: softmax([1,0]) = [e/(e+1), 1/(e+1)] = [0.731059, 0.268941]
const ce = -Math.log(Math.E / (Math.E + 1)); // 0.313262
const kl1 = 0.25 * Math.log(0.25 / 0.731059) + 0.75 * Math.log(0.75 / 0.268941);

describe('distillationLoss', () => {
  it('is the cross-entropy alone at alpha = 0', () => {
    expect(value({ alpha: 0, temperature: 4, loss: 'kl' })).toBeCloseTo(ce, 5);
  });

  it('is the KL term alone at alpha = 1 and T = 1', () => {
    expect(value({ alpha: 1, temperature: 1, loss: 'kl' })).toBeCloseTo(kl1, 5);
  });

  it('scales the soft term by T² at T = 2', () => {
    const ps = [Math.exp(0.5) / (Math.exp(0.5) + 1), 1 / (Math.exp(0.5) + 1)];
    const pt = [1 / (1 + Math.sqrt(3)), Math.sqrt(3) / (1 + Math.sqrt(3))];
    const kl = pt[0]! * Math.log(pt[0]! / ps[0]!) + pt[1]! * Math.log(pt[1]! / ps[1]!);
    expect(value({ alpha: 0.5, temperature: 2, loss: 'kl' })).toBeCloseTo(0.5 * 4 * kl + 0.5 * ce, 5);
  });

  it('has the hand-computed gradient (p_s − p_t)·T for the soft term', () => {
    const grad = tf.grad((s: import('@tensorflow/tfjs').Tensor) =>
      distillationLoss(tf, s as import('@tensorflow/tfjs').Tensor2D, teacher, label, { alpha: 1, temperature: 1, loss: 'kl' }),
    )(student()).dataSync();
    expect(grad[0]).toBeCloseTo(0.731059 - 0.25, 5);
    expect(grad[1]).toBeCloseTo(0.268941 - 0.75, 5);
  });

  it('uses the mean squared logit error for mse', () => {
    expect(value({ alpha: 1, temperature: 3, loss: 'mse' })).toBeCloseTo((1 + Math.log(3) ** 2) / 2, 5);
  });
});
