import type { MlParams } from '../params.js';
import { seededRandom } from '../../seeded-random.js';
import { detokenize, UNK } from './text.js';

/** soft_labels.augment with `copies` resolved for the student's size (augmentCopies). */
export type AugmentParams = Omit<MlParams['soft_labels']['augment'], 'copies'> & { copies: number };

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

/**
 * A text mixup: the start of `a` (1 to all but one of its words) joined to the end of `b` (1 to all
 * but one of its words), so the teacher labels a sentence whose halves may disagree.
 */
export function mixSentences(a: readonly Word[], b: readonly Word[], random: () => number): AugmentedSentence {
  const cut = (length: number) => Math.max(1, 1 + Math.floor(random() * (length - 1)));
  const out = [...a.slice(0, cut(a.length)), ...b.slice(b.length - cut(b.length))];
  return { text: detokenize(out.map((w) => w.surface)), tokens: out.map((w) => w.token) };
}

/**
 * `copies` synthetic sentences per input sentence, in input order, then `mix_copies` mixed ones per
 * input sentence (its start joined to the end of another drawn at random, on a random stream of
 * their own, so `copies`' sentences do not change with `mix_copies`); repeatable for a seed.
 */
export function augmentAll(sentences: readonly (readonly Word[])[], p: AugmentParams, seed: number, context: AugmentContext): AugmentedSentence[] {
  const random = seededRandom(seed);
  const copies = sentences.flatMap((words) => Array.from({ length: p.copies }, () => augmentSentence(words, p, random, context)));
  if (p.mix_copies === 0 || sentences.length < 2) return copies;
  const mixRandom = seededRandom(seed ^ 0x6d1c);
  const mixed = sentences.flatMap((words, i) =>
    Array.from({ length: p.mix_copies }, () => {
      const other = (i + 1 + Math.floor(mixRandom() * (sentences.length - 1))) % sentences.length;
      return mixSentences(words, sentences[other]!, mixRandom);
    }),
  );
  return [...copies, ...mixed];
}
