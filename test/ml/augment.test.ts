import { describe, expect, it } from 'vitest';
import { augmentAll, augmentSentence } from '../../lib/ml/text/augment.js';
import { loadTf } from '../../lib/ml/backend/backend.js';
import { distillationLoss } from '../../lib/ml/distill.js';
import { seededRandom } from '../../lib/ml/data/split.js';

const { tf } = await loadTf();
const none = { copies: 1, mask_prob: 0, dropout_prob: 0, ngram_prob: 0 };
const sentence = 'the plot was thin but the acting was superb !'.split(' ');

describe('Tang et al. augmentation', () => {
  it('is the identity with every probability 0, all <unk> with mask_prob 1, never empty with dropout_prob 1', () => {
    const random = seededRandom(1);
    expect(augmentSentence(sentence, none, random)).toEqual(sentence);
    expect(augmentSentence(sentence, { ...none, mask_prob: 1 }, random)).toEqual(sentence.map(() => '<unk>'));
    const kept = augmentSentence(sentence, { ...none, dropout_prob: 1 }, random);
    expect(kept).toHaveLength(1);
    expect(sentence).toContain(kept[0]);
  });

  it('cuts to a contiguous n-gram of 1–5 tokens with ngram_prob 1', () => {
    const random = seededRandom(2);
    for (let i = 0; i < 50; i++) {
      const gram = augmentSentence(sentence, { ...none, ngram_prob: 1 }, random);
      expect(gram.length).toBeGreaterThanOrEqual(1);
      expect(gram.length).toBeLessThanOrEqual(5);
      expect(` ${sentence.join(' ')} `).toContain(` ${gram.join(' ')} `);
    }
  });

  it('makes `copies` sentences per input, the same for a seed and different for another', () => {
    const p = { copies: 3, mask_prob: 0.2, dropout_prob: 0.2, ngram_prob: 0.3 };
    const a = augmentAll([sentence, ['short']], p, 7);
    expect(a).toHaveLength(6);
    expect(augmentAll([sentence, ['short']], p, 7)).toEqual(a);
    expect(augmentAll([sentence, ['short']], p, 8)).not.toEqual(a);
  });
});

describe('distillation loss with unlabelled rows', () => {
  it('applies the hard term only to labelled rows and the soft term to all', () => {
    const student = tf.tensor2d([[2, 0], [0, 1], [1, 1]]);
    const teacher = tf.tensor2d([[1, 0], [0, 3], [2, 0]]);
    const labels = tf.tensor1d([0, 1, 0], 'int32'); // row 2's 0 is a placeholder
    const opts = { alpha: 0.7, temperature: 2, loss: 'kl' as const };
    const masked = distillationLoss(tf, student, teacher, labels, opts, tf.tensor1d([1, 1, 0])).dataSync()[0]!;
    const soft = distillationLoss(tf, student, teacher, labels, { ...opts, alpha: 1 }).dataSync()[0]!;
    const hardLabelled = distillationLoss(tf, student.slice(0, 2), teacher.slice(0, 2), labels.slice(0, 2), { ...opts, alpha: 0 }).dataSync()[0]!;
    expect(masked).toBeCloseTo(0.7 * soft + 0.3 * hardLabelled, 5);
    const noneLabelled = distillationLoss(tf, student, teacher, labels, opts, tf.tensor1d([0, 0, 0])).dataSync()[0]!;
    expect(noneLabelled).toBeCloseTo(0.7 * soft, 5);
  });
});
