import { readFileSync } from 'node:fs';
import path from 'node:path';
import { KdError } from '../../errors.js';
import { tokenize, type TextOptions } from '../text/text.js';

interface TokenizerJson {
  model?: { type?: string; vocab?: Record<string, number> | [string, number][] };
  added_tokens?: { content: string }[];
}

// How each tokenizer family marks a piece that starts a word, or continues one.
const WORD_START = /^[▁Ġ]/u;
const CONTINUATION = /^##/;

/**
 * Whole words of a Hugging Face tokenizer's vocabulary, in id order (roughly by frequency for
 * BPE and Unigram vocabularies), as the student's tokens: WordPiece pieces that do not continue a
 * word (`##…`), Unigram (`▁word`) and byte-level BPE (`Ġword`) pieces that start one. A piece is
 * kept when the student's tokeniser reads it as exactly one token of at least two characters with a
 * letter (a special token, punctuation, a single character or a fragment such as `ing` of a BPE
 * vocabulary without markers are not).
 * Any language: the tokens come out as `tokenize` makes them.
 */
export function encoderWords(encoderDir: string, text: TextOptions, limit: number): string[] {
  const file = path.join(encoderDir, 'tokenizer.json');
  let json: TokenizerJson;
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as TokenizerJson;
  } catch (error) {
    throw new KdError(`${file}: ${(error as Error).message}`);
  }
  const vocab = json.model?.vocab;
  if (!vocab) throw new KdError(`${file}: no model.vocab`);
  const pieces = Array.isArray(vocab) ? vocab.map(([piece]) => piece) : Object.entries(vocab).sort(([, a], [, b]) => a - b).map(([piece]) => piece);
  const markers = pieces.some((piece) => WORD_START.test(piece));
  const special = new Set((json.added_tokens ?? []).map((t) => t.content));
  const out: string[] = [];
  const seen = new Set<string>();
  for (const piece of pieces) {
    if (out.length >= limit) break;
    if (special.has(piece) || CONTINUATION.test(piece) || (markers && !WORD_START.test(piece))) continue;
    const tokens = tokenize(piece.replace(WORD_START, ''), text);
    const word = tokens[0];
    if (tokens.length !== 1 || !word || !/\p{L}/u.test(word) || seen.has(word)) continue;
    // Single characters are skipped: a WordPiece vocabulary lists thousands of them (every script's
    // letters, a fallback for unknown words) ahead of its words; a Chinese student still has the
    // ones its training data uses.
    if ([...word].length < 2) continue;
    seen.add(word);
    out.push(word);
  }
  return out;
}
