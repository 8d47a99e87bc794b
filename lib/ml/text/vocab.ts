import { PAD, PAD_ID, UNK, UNK_ID } from './text.js';

/**
 * Token → id from tokenised sentences: `<pad>` = 0, `<unk>` = 1, then tokens seen at least
 * `minFreq` times by descending frequency, ties broken by token (code-point order) for determinism,
 * at most `maxSize` entries in all.
 */
export function buildVocab(sentences: Iterable<readonly string[]>, minFreq: number, maxSize: number): Record<string, number> {
  const counts = new Map<string, number>();
  for (const tokens of sentences) for (const token of tokens) counts.set(token, (counts.get(token) ?? 0) + 1);
  const ranked = [...counts.entries()]
    .filter(([token, count]) => count >= minFreq && token !== PAD && token !== UNK)
    .sort(([a, ca], [b, cb]) => cb - ca || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, Math.max(0, maxSize - 2));
  const vocab: Record<string, number> = { [PAD]: PAD_ID, [UNK]: UNK_ID };
  ranked.forEach(([token], index) => {
    vocab[token] = index + 2;
  });
  return vocab;
}
