import type { MlParams } from '../params.js';
import { seededRandom } from '../data/split.js';
import { UNK } from './text.js';

export type AugmentParams = MlParams['soft_labels']['augment'];

// Tang et al. 2019 draw the n-gram length uniformly from 1..5.
const MAX_NGRAM = 5;

/**
 * One synthetic sentence in the style of Tang et al. 2019 ("Distilling task-specific knowledge from
 * BERT into simple neural networks"): each token becomes <unk> with `mask_prob`, else is dropped
 * with `dropout_prob`; then, with `ngram_prob`, the sentence is cut to a random n-gram of itself.
 * Never empty: if every token was dropped, one original token is kept.
 */
export function augmentSentence(tokens: readonly string[], p: AugmentParams, random: () => number): string[] {
  let out: string[] = [];
  for (const token of tokens) {
    if (random() < p.mask_prob) out.push(UNK);
    else if (random() >= p.dropout_prob) out.push(token);
  }
  if (out.length === 0 && tokens.length > 0) out = [tokens[Math.floor(random() * tokens.length)]!];
  if (out.length > 1 && random() < p.ngram_prob) {
    const n = 1 + Math.floor(random() * Math.min(MAX_NGRAM, out.length));
    const start = Math.floor(random() * (out.length - n + 1));
    out = out.slice(start, start + n);
  }
  return out;
}

/** `copies` synthetic sentences per input sentence, in input order, repeatable for a seed. */
export function augmentAll(sentences: readonly (readonly string[])[], p: AugmentParams, seed: number): string[][] {
  const random = seededRandom(seed);
  return sentences.flatMap((tokens) => Array.from({ length: p.copies }, () => augmentSentence(tokens, p, random)));
}
