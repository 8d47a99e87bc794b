/**
 * Text normalisation, tokenisation and encoding — shared by the stages, `predict`, the server and
 * the browser page, so it must stay free of Node-only imports.
 */
export interface TextOptions {
  lowercase: boolean;
  strip_accents: boolean;
}

/** Index 0 pads a sequence, index 1 stands for any token outside the vocabulary. */
export const PAD = '<pad>';
export const UNK = '<unk>';
export const PAD_ID = 0;
export const UNK_ID = 1;

const COMBINING_MARKS = /\p{M}+/gu;

/**
 * NFC (so "é" typed as e + U+0301 and the precomposed "é" are the same token), optional Unicode
 * lowercasing, optional accent folding (é→e, ü→u: decompose, drop the combining marks, recompose).
 */
export function normalize(text: string, options: TextOptions): string {
  let out = text.normalize('NFC');
  if (options.lowercase) out = out.toLowerCase();
  if (options.strip_accents) out = out.normalize('NFD').replace(COMBINING_MARKS, '').normalize('NFC');
  return out;
}

// A word is a run of letters, marks and digits, with inner apostrophes/hyphens kept ("don't",
// "aujourd'hui", "E-Mail"); every other non-space character (! ? . , …) is a token of its own.
const TOKEN = /[\p{L}\p{M}\p{N}]+(?:['’\-][\p{L}\p{M}\p{N}]+)*|[^\s\p{L}\p{M}\p{N}]/gu;

export function tokenize(text: string, options: TextOptions): string[] {
  return normalize(text, options).match(TOKEN) ?? [];
}

/** Token ids of one sentence: truncated to `maxLen`, padded with 0 at the end, unknown → 1. */
export function encode(tokens: readonly string[], vocab: Readonly<Record<string, number>>, maxLen: number): Int32Array {
  const ids = new Int32Array(maxLen);
  const n = Math.min(tokens.length, maxLen);
  for (let i = 0; i < n; i++) ids[i] = vocab[tokens[i]!] ?? UNK_ID;
  return ids;
}
