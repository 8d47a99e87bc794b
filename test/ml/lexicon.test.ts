import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encoderWords } from '../../lib/ml/teacher/lexicon.js';
import { defaultEncoderDir } from './encoder-fixture.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
const text = { lowercase: true, strip_accents: false };

/** A folder with just a tokenizer.json of the given model section. */
function tokenizer(model: object, added: string[] = []): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'kd-lexicon-'));
  dirs.push(dir);
  writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify({ model, added_tokens: added.map((content) => ({ content })) }));
  return dir;
}

describe('the encoder vocabulary\'s whole words', () => {
  it('takes WordPiece words in id order, without continuations, specials, punctuation or single letters', () => {
    const dir = tokenizer({ type: 'WordPiece', vocab: { '[PAD]': 0, '[unused0]': 1, '!': 2, a: 3, 好: 4, the: 5, '##ing': 6, great: 7, 'Über': 8, 电影: 9 } }, ['[PAD]']);
    expect(encoderWords(dir, text, 10)).toEqual(['the', 'great', 'über', '电影']);
    expect(encoderWords(dir, text, 2)).toEqual(['the', 'great']);
  });

  it('takes Unigram (▁) and byte-level BPE (Ġ) word-start pieces only', () => {
    expect(encoderWords(tokenizer({ type: 'Unigram', vocab: [['<s>', 0], ['▁film', -1], ['ing', -2], ['▁très', -3], ['▁,', -4]] }), text, 10)).toEqual(['film', 'très']);
    expect(encoderWords(tokenizer({ type: 'BPE', vocab: { 'Ġmovie': 0, ies: 1, 'ĠGood': 2 } }), text, 10)).toEqual(['movie', 'good']);
  });

  it('finds over 20,000 words in all-MiniLM-L6-v2\'s vocabulary, starting with the most frequent', () => {
    const words = encoderWords(defaultEncoderDir(), text, 100_000);
    expect(words.length).toBeGreaterThan(20_000);
    expect(words.slice(0, 5)).toEqual(['the', 'of', 'and', 'in', 'to']);
  });
});
