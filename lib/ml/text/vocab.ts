import { PAD, PAD_ID, UNK, UNK_ID } from './text.js';

/**
 * Token → id from tokenised sentences: `<pad>` = 0, `<unk>` = 1, then tokens seen at least
 * `minFreq` times by descending frequency, ties broken by token (code-point order) for determinism,
 * at most `maxSize` entries in all; then the `extra` tokens not yet in it, in their order, up to `maxSize`.
 */
export function buildVocab(sentences: Iterable<readonly string[]>, minFreq: number, maxSize: number, extra: readonly string[] = []): Record<string, number> {
  const counts = new Map<string, number>();
  for (const tokens of sentences) for (const token of tokens) counts.set(token, (counts.get(token) ?? 0) + 1);
  const ranked = [...counts.entries()]
    .filter(([token, count]) => count >= minFreq && token !== PAD && token !== UNK)
    .sort(([a, ca], [b, cb]) => cb - ca || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, Math.max(0, maxSize - 2))
    .map(([token]) => token);
  const tokens = new Set([PAD, UNK, ...ranked]);
  for (const token of extra) {
    if (tokens.size >= maxSize) break;
    tokens.add(token);
  }
  // fromEntries defines own properties, so words such as "constructor" or "__proto__" are ordinary entries.
  return Object.fromEntries([...tokens].map((token, id) => [token, id]));
}
