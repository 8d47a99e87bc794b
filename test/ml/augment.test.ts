import { describe, expect, it } from 'vitest';
import { augmentAll, augmentSentence } from '../../lib/ml/text/augment.js';
import { loadTf } from '../../lib/ml/backend/backend.js';
import { distillationLoss } from '../../lib/ml/distill.js';
import { seededRandom } from '../../lib/seeded-random.js';

const { tf } = await loadTf();
const none = { copies: 1, mask_prob: 0, dropout_prob: 0, ngram_prob: 0, replace_prob: 0, replace_top_k: 5, mix_copies: 0 };
const plain = (tokens: string[]) => tokens.map((token) => ({ surface: token, token }));
const sentence = plain('the plot was thin but the acting was superb !'.split(' '));
const context = { maskToken: '[MASK]' };

describe('Tang et al. augmentation', () => {
  it('is the identity with every probability 0, all masked with mask_prob 1, never empty with dropout_prob 1', () => {
    const random = seededRandom(1);
    expect(augmentSentence(sentence, none, random, context)).toEqual({ text: 'the plot was thin but the acting was superb !', tokens: sentence.map((w) => w.token) });
    // The teacher reads its tokenizer's mask token, the student <unk>.
    expect(augmentSentence(sentence, { ...none, mask_prob: 1 }, random, context)).toEqual({ text: sentence.map(() => '[MASK]').join(' '), tokens: sentence.map(() => '<unk>') });
    const kept = augmentSentence(sentence, { ...none, dropout_prob: 1 }, random, context);
    expect(kept.tokens).toHaveLength(1);
    expect(sentence.map((w) => w.token)).toContain(kept.tokens[0]);
  });

  it('gives the teacher the words as written and the student their normalised tokens', () => {
    const words = [
      { surface: 'Das', token: 'das' },
      { surface: 'Essen', token: 'essen' },
    ];
    expect(augmentSentence(words, none, seededRandom(1), context)).toEqual({ text: 'Das Essen', tokens: ['das', 'essen'] });
  });

  it('joins words of scripts without spaces without a space', () => {
    expect(augmentSentence(plain(['这部', '电影', '很', '好看', '!']), none, seededRandom(1), context).text).toBe('这部电影很好看 !');
  });

  it('replaces words by one of their top-k neighbours with replace_prob 1, and leaves words without neighbours', () => {
    const neighbours = new Map([['superb', plain(['excellent', 'great', 'terrible'])]]);
    const random = seededRandom(3);
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const out = augmentSentence(sentence, { ...none, replace_prob: 1, replace_top_k: 2 }, random, { ...context, neighbours: (t) => neighbours.get(t) });
      expect(out.tokens.slice(0, 8)).toEqual(sentence.slice(0, 8).map((w) => w.token));
      seen.add(out.tokens[8]!);
    }
    expect([...seen].sort()).toEqual(['excellent', 'great']);
  });

  it('cuts to a contiguous n-gram of 1–5 tokens with ngram_prob 1', () => {
    const random = seededRandom(2);
    for (let i = 0; i < 50; i++) {
      const gram = augmentSentence(sentence, { ...none, ngram_prob: 1 }, random, context).tokens;
      expect(gram.length).toBeGreaterThanOrEqual(1);
      expect(gram.length).toBeLessThanOrEqual(5);
      expect(` ${sentence.map((w) => w.token).join(' ')} `).toContain(` ${gram.join(' ')} `);
    }
  });

  it('makes `copies` sentences per input, the same for a seed and different for another', () => {
    const p = { ...none, copies: 3, mask_prob: 0.2, dropout_prob: 0.2, ngram_prob: 0.3 };
    const a = augmentAll([sentence, plain(['short'])], p, 7, context);
    expect(a).toHaveLength(6);
    expect(augmentAll([sentence, plain(['short'])], p, 7, context)).toEqual(a);
    expect(augmentAll([sentence, plain(['short'])], p, 8, context)).not.toEqual(a);
  });

  it('adds `mix_copies` sentences per input, each a start of it joined to the end of another, leaving the copies as they were', () => {
    const other = plain('a dull and lifeless film'.split(' '));
    const p = { ...none, copies: 2, mask_prob: 0.2 };
    const copies = augmentAll([sentence, other], p, 7, context);
    const all = augmentAll([sentence, other], { ...p, mix_copies: 5 }, 7, context);
    expect(all).toHaveLength(4 + 10);
    expect(all.slice(0, 4)).toEqual(copies);
    all.slice(4).forEach((mixed, i) => {
      const [first, second] = i < 5 ? [sentence, other] : [other, sentence];
      const tokens = mixed.tokens.join(' ');
      const cut = mixed.tokens.findIndex((token, j) => token !== first[j]!.token);
      expect(cut).toBeGreaterThan(0);
      expect(cut).toBeLessThan(first.length);
      expect(` ${second.map((w) => w.token).join(' ')}`.endsWith(` ${mixed.tokens.slice(cut).join(' ')}`)).toBe(true);
      expect(mixed.text).toBe(tokens);
    });
    expect(augmentAll([sentence, other], { ...p, mix_copies: 5 }, 7, context)).toEqual(all);
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
