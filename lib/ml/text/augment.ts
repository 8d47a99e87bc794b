import type { MlParams } from '../params.js';
import { seededRandom } from '../../seeded-random.js';
import { detokenize, UNK } from './text.js';

export type AugmentParams = MlParams['soft_labels']['augment'];

// Tang et al. 2019 draw the n-gram length uniformly from 1..5.
const MAX_NGRAM = 5;

/** A word of a sentence: as written (what the teacher reads) and normalised (the student's token). */
export interface Word {
  surface: string;
  token: string;
}

/** One synthetic sentence: the text the teacher labels and the tokens the student learns from. */
export interface AugmentedSentence {
  text: string;
  tokens: string[];
}

export interface AugmentContext {
  /** What a masked word becomes for the teacher: its tokenizer's mask token ([MASK], <mask>…). */
  maskToken: string;
  /** Words that may stand in for a student token (its nearest neighbours), as Words; none = not replaceable. */
  neighbours?: (token: string) => readonly Word[] | undefined;
}

/**
 * One synthetic sentence in the style of Tang et al. 2019 ("Distilling task-specific knowledge from
 * BERT into simple neural networks"): each word is masked with `mask_prob` (the teacher reads its
 * tokenizer's mask token, the student <unk>), else replaced with `replace_prob` by one of its
 * `replace_top_k` nearest neighbours (their POS-guided replacement, with the teacher's own word
 * similarity instead of GloVe's), else dropped with `dropout_prob`; then, with `ngram_prob`, the
 * sentence is cut to a random n-gram of itself. Never empty: if every word was dropped, one is kept.
 */
export function augmentSentence(words: readonly Word[], p: AugmentParams, random: () => number, context: AugmentContext): AugmentedSentence {
  const mask: Word = { surface: context.maskToken, token: UNK };
  let out: Word[] = [];
  for (const word of words) {
    if (random() < p.mask_prob) {
      out.push(mask);
      continue;
    }
    const candidates = p.replace_prob > 0 ? context.neighbours?.(word.token) : undefined;
    if (candidates && candidates.length > 0 && random() < p.replace_prob) out.push(candidates[Math.floor(random() * Math.min(p.replace_top_k, candidates.length))]!);
    else if (random() >= p.dropout_prob) out.push(word);
  }
  if (out.length === 0 && words.length > 0) out = [words[Math.floor(random() * words.length)]!];
  if (out.length > 1 && random() < p.ngram_prob) {
    const n = 1 + Math.floor(random() * Math.min(MAX_NGRAM, out.length));
    const start = Math.floor(random() * (out.length - n + 1));
    out = out.slice(start, start + n);
  }
  return { text: detokenize(out.map((w) => w.surface)), tokens: out.map((w) => w.token) };
}

/** `copies` synthetic sentences per input sentence, in input order, repeatable for a seed. */
export function augmentAll(sentences: readonly (readonly Word[])[], p: AugmentParams, seed: number, context: AugmentContext): AugmentedSentence[] {
  const random = seededRandom(seed);
  return sentences.flatMap((words) => Array.from({ length: p.copies }, () => augmentSentence(words, p, random, context)));
}
