/**
 * How a text becomes the student's input ids — one definition for training, evaluation, export,
 * `predict`, the server and the browser page, so it must stay free of Node-only imports.
 *
 * - `words`: the project's own tokeniser and a word vocabulary (`vocab.json`); unknown words → `<unk>`.
 * - `pieces`: a Hugging Face `tokenizer.json` (the teacher's WordPiece tokenizer, pruned to the
 *   pieces the student learnt), run by @huggingface/tokenizers — the library transformers.js itself
 *   tokenises with — so no word is unknown and scripts without spaces need no word splitter.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { encode, PAD_ID, tokenize, type TextOptions } from './text.js';

export interface InputEncoder {
  kind: 'words' | 'pieces';
  /** Ids per text at most. */
  maxLen: number;
  /** The ids of one text, truncated to `maxLen` and not padded (`tokens`: its words, when the caller has them). */
  ids(text: string, tokens?: readonly string[]): Int32Array;
}

/**
 * The project's word tokeniser over `vocab`. Pre-tokenised `tokens` are used as they are; `options`
 * (null where every caller passes tokens) normalise a raw text.
 */
export function wordEncoder(vocab: Readonly<Record<string, number>>, options: TextOptions | null, maxLen: number): InputEncoder {
  return {
    kind: 'words',
    maxLen,
    ids(text, tokens) {
      if (!tokens && !options) throw new Error('wordEncoder: a raw text needs the text options it was trained with');
      const words = tokens ?? tokenize(text, options!);
      return encode(words, vocab, Math.min(words.length, maxLen));
    },
  };
}

/** The subset of a tokenizer.json the student relies on (the rest is passed to the library as it is). */
export interface TokenizerJson {
  model: { type: string; vocab: Record<string, number>; unk_token?: string };
  truncation?: { max_length: number; [key: string]: unknown } | null;
  [key: string]: unknown;
}

/**
 * A `tokenizer.json` as the student's input: its ids without special tokens, truncated to the
 * file's own `truncation.max_length`. The same file gives the same ids in Python's `tokenizers`.
 */
export function pieceEncoder(json: TokenizerJson, config: Record<string, unknown> = {}): InputEncoder {
  const maxLen = json.truncation?.max_length;
  if (!maxLen) throw new Error('tokenizer.json: no truncation.max_length (the student\'s input length)');
  const tokenizer = new Tokenizer(json, config);
  return {
    kind: 'pieces',
    maxLen,
    ids(text) {
      const ids = tokenizer.encode(text, { add_special_tokens: false }).ids;
      return Int32Array.from(ids.length > maxLen ? ids.slice(0, maxLen) : ids);
    },
  };
}

/**
 * Rows of ids padded with PAD_ID to one width: `width` when the model has a fixed input length,
 * else the longest row (at least 1), as a flat row-major buffer.
 */
export function padRows(rows: readonly Int32Array[], width: number | null): { ids: Int32Array; width: number } {
  const w = width ?? Math.max(1, ...rows.map((row) => row.length));
  const ids = new Int32Array(rows.length * w).fill(PAD_ID);
  rows.forEach((row, i) => ids.set(row.length > w ? row.subarray(0, w) : row, i * w));
  return { ids, width: w };
}
