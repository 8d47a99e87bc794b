import { TOKEN, UNK, type TextOptions } from '../../text/text.js';

/**
 * What a Hugging Face tokenizer.json cannot say about the word student's input: kd-pipeline cuts
 * runs of scripts written without spaces into words with ICU's dictionary (Intl.Segmenter); the
 * file has no such step, so there a run of those letters stays one word (usually `<unk>`).
 */
export const WORD_TOKENIZER_LIMITS =
  'Chinese, Japanese, Thai, Lao, Khmer and Myanmar text is split into words by ICU dictionary segmentation (Intl.Segmenter) in kd-pipeline; ' +
  'tokenizer.json cannot express that step, so other runtimes read a run of such letters as one word (usually <unk>): pass such text with its words separated by spaces';

/**
 * The word student's input as a tokenizer.json other runtimes read (Python or Rust `tokenizers`,
 * transformers.js): the normaliser of text.ts (NFC, optional lowercasing, optional accent folding),
 * its word pattern as a Split pre-tokeniser keeping only the matches, and a WordLevel model over
 * vocab.json (unknown → `<unk>`), truncated to `maxLen` with no special tokens, as kd-pipeline encodes.
 */
export function wordTokenizerJson(vocab: Readonly<Record<string, number>>, options: TextOptions, maxLen: number): Record<string, unknown> {
  const normalizers: Record<string, unknown>[] = [{ type: 'NFC' }];
  if (options.lowercase) normalizers.push({ type: 'Lowercase' });
  if (options.strip_accents) normalizers.push({ type: 'NFD' }, { type: 'StripAccents' }, { type: 'NFC' });
  return {
    version: '1.0',
    truncation: { max_length: maxLen, strategy: 'LongestFirst', stride: 0, direction: 'Right' },
    padding: null,
    added_tokens: [],
    normalizer: { type: 'Sequence', normalizers },
    // invert: the pattern matches the words, not the separators; Removed drops what lies between them.
    pre_tokenizer: { type: 'Split', pattern: { Regex: TOKEN.source }, behavior: 'Removed', invert: true },
    post_processor: null,
    decoder: null,
    model: { type: 'WordLevel', vocab, unk_token: UNK },
  };
}
