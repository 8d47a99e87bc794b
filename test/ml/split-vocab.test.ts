import { describe, expect, it } from 'vitest';
import { stratifiedSplit } from '../../lib/ml/data/split.js';
import { buildVocab } from '../../lib/ml/text/vocab.js';

const items = [...Array.from({ length: 60 }, (_, i) => ({ id: i, label: 'a' })), ...Array.from({ length: 40 }, (_, i) => ({ id: 100 + i, label: 'b' }))];
const byLabel = (item: { label: string }) => item.label;
const count = (list: { label: string }[], label: string) => list.filter((item) => item.label === label).length;

describe('stratifiedSplit', () => {
  it('keeps class proportions in every split', () => {
    const split = stratifiedSplit(items, byLabel, { val: 0.1, test: 0.2 }, 7);
    expect([count(split.test, 'a'), count(split.test, 'b')]).toEqual([12, 8]);
    expect([count(split.val, 'a'), count(split.val, 'b')]).toEqual([6, 4]);
    expect(split.train.length).toBe(70);
    const ids = [...split.train, ...split.val, ...split.test].map((item) => item.id).sort((x, y) => x - y);
    expect(ids).toEqual(items.map((item) => item.id).sort((x, y) => x - y));
  });

  it('is deterministic for a seed, independent of input order, and differs across seeds', () => {
    const one = stratifiedSplit(items, byLabel, { val: 0.1, test: 0.2 }, 7);
    const again = stratifiedSplit(items, byLabel, { val: 0.1, test: 0.2 }, 7);
    const other = stratifiedSplit(items, byLabel, { val: 0.1, test: 0.2 }, 8);
    expect(again).toEqual(one);
    expect(other.test.map((item) => item.id)).not.toEqual(one.test.map((item) => item.id));
  });
});

describe('buildVocab', () => {
  const sentences = [['gut', 'film', '!'], ['film', 'schön'], ['film', 'gut'], ['10']];

  it('puts <pad>, <unk> first, then tokens by frequency then token', () => {
    expect(buildVocab(sentences, 1, 100)).toEqual({ '<pad>': 0, '<unk>': 1, film: 2, gut: 3, '!': 4, '10': 5, schön: 6 });
  });

  it('applies min_freq and max_size', () => {
    expect(buildVocab(sentences, 2, 100)).toEqual({ '<pad>': 0, '<unk>': 1, film: 2, gut: 3 });
    expect(buildVocab(sentences, 1, 3)).toEqual({ '<pad>': 0, '<unk>': 1, film: 2 });
  });
});

describe('buildVocab with extra words', () => {
  it('adds the extra words after the training words, up to max_size, and keeps "__proto__" and "constructor" as ordinary entries', () => {
    const vocab = buildVocab([['good', 'good', 'film']], 1, 6, ['great', 'film', '__proto__', 'constructor', 'awful']);
    expect(Object.entries(vocab)).toEqual([
      ['<pad>', 0],
      ['<unk>', 1],
      ['good', 2],
      ['film', 3],
      ['great', 4],
      ['__proto__', 5],
    ]);
    expect(Object.hasOwn(buildVocab([['constructor']], 1, 10), 'constructor')).toBe(true);
  });
});
