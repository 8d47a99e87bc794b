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
export const TOKEN = /[\p{L}\p{M}\p{N}]+(?:['’\-][\p{L}\p{M}\p{N}]+)*|[^\s\p{L}\p{M}\p{N}]/gu;

// Scripts written without spaces between words: a run of their letters is a phrase or a whole
// sentence, not a word, so it is cut into words by ICU's dictionary-based word segmentation.
const NO_SPACE_SCRIPT = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;
let segmenter: Intl.Segmenter | undefined;

/** Words of a run of letters in a script without spaces (Intl.Segmenter, word granularity: Node's and the browser's ICU data). */
function segmentWords(run: string): string[] {
  segmenter ??= new Intl.Segmenter(undefined, { granularity: 'word' });
  return [...segmenter.segment(run)].filter((s) => s.segment.trim() !== '').map((s) => s.segment);
}

export function tokenize(text: string, options: TextOptions): string[] {
  const tokens = normalize(text, options).match(TOKEN) ?? [];
  return tokens.flatMap((token) => (NO_SPACE_SCRIPT.test(token) ? segmentWords(token) : [token]));
}

/** The words of a text as written (what a teacher reads) with their normalised forms (the student's tokens). */
export function words(text: string, options: TextOptions): { surface: string; token: string }[] {
  return tokenize(text, { lowercase: false, strip_accents: false }).map((surface) => ({ surface, token: normalize(surface, options) }));
}

/**
 * Tokens back to text a sub-word tokenizer can read: separated by spaces, except between two
 * tokens of a script written without them (Chinese, Japanese, Thai…).
 */
export function detokenize(tokens: readonly string[]): string {
  let out = '';
  tokens.forEach((token, i) => {
    if (i > 0 && !(NO_SPACE_SCRIPT.test(tokens[i - 1]!.slice(-1)) && NO_SPACE_SCRIPT.test(token[0]!))) out += ' ';
    out += token;
  });
  return out;
}

/** Token ids of one sentence: truncated to `maxLen`, padded with 0 at the end, unknown → 1. */
export function encode(tokens: readonly string[], vocab: Readonly<Record<string, number>>, maxLen: number): Int32Array {
  const ids = new Int32Array(maxLen);
  const n = Math.min(tokens.length, maxLen);
  // hasOwn: a token such as "constructor" must not find Object.prototype's member.
  for (let i = 0; i < n; i++) ids[i] = Object.hasOwn(vocab, tokens[i]!) ? vocab[tokens[i]!]! : UNK_ID;
  return ids;
}
