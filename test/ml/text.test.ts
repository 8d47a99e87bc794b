import { describe, expect, it } from 'vitest';
import { encode, normalize, tokenize } from '../../lib/ml/text/text.js';

const keep = { lowercase: true, strip_accents: false };
const fold = { lowercase: true, strip_accents: true };

describe('tokenize', () => {
  it('keeps German and French words whole and punctuation as tokens', () => {
    expect(tokenize('Das Essen war großartig, wirklich schön!', keep)).toEqual(['das', 'essen', 'war', 'großartig', ',', 'wirklich', 'schön', '!']);
    expect(tokenize("C'était très décevant… aujourd'hui!!", keep)).toEqual(["c'était", 'très', 'décevant', '…', "aujourd'hui", '!', '!']);
  });

  it('splits words glued by punctuation and keeps numbers', () => {
    expect(tokenize('more than 45 minutes.MAJOR PROBLEMS!!', keep)).toEqual(['more', 'than', '45', 'minutes', '.', 'major', 'problems', '!', '!']);
  });

  it('treats decomposed and precomposed accents as the same token (NFC)', () => {
    expect(tokenize('cafe\u0301', keep)).toEqual(tokenize('café', keep));
  });

  it('folds accents only when asked, and keeps case when asked', () => {
    expect(tokenize('Über Café', fold)).toEqual(['uber', 'cafe']);
    expect(tokenize('Über Café', { lowercase: false, strip_accents: false })).toEqual(['Über', 'Café']);
    expect(normalize('ÉTÉ', keep)).toBe('été');
  });

  it('splits Chinese, Japanese and Thai into words (Intl.Segmenter), not one token per sentence', () => {
    expect(tokenize('这部电影很好看，我很喜欢！', keep)).toEqual(['这', '部', '电影', '很好', '看', '，', '我', '很喜欢', '！']);
    expect(tokenize('この映画はとても面白かった', keep)).toContain('映画');
    expect(tokenize('หนังเรื่องนี้สนุกมาก', keep)).toEqual(['หนัง', 'เรื่อง', 'นี้', 'สนุก', 'มาก']);
    expect(tokenize('Das Essen war 很好!', keep)).toEqual(['das', 'essen', 'war', '很好', '!']);
  });

  it('returns no tokens for blank text', () => {
    expect(tokenize('  \t ', keep)).toEqual([]);
  });
});

describe('encode', () => {
  const vocab = { '<pad>': 0, '<unk>': 1, good: 2, film: 3 };

  it('maps unknown tokens to 1 and pads with 0 at the end', () => {
    expect(Array.from(encode(['good', 'new', 'film'], vocab, 5))).toEqual([2, 1, 3, 0, 0]);
  });

  it('maps a token named like an Object member ("constructor") to <unk> unless the vocab has it', () => {
    expect(Array.from(encode(['constructor', 'good'], vocab, 2))).toEqual([1, 2]);
    expect(Array.from(encode(['constructor'], { ...vocab, constructor: 4 }, 1))).toEqual([4]);
  });

  it('truncates to maxLen', () => {
    expect(Array.from(encode(['good', 'good', 'film', 'film'], vocab, 2))).toEqual([2, 2]);
  });
});
