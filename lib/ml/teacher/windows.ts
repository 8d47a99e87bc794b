/**
 * What the encoder does with a text longer than max_tokens: read its start only, or all of it in
 * overlapping windows. A windowed text's row is the mean of its windows' rows weighted by the
 * positions each window read, L2-normalised again for embeddings: each window's row is exactly
 * the one that window gets as a text of its own, so a long text is the average of its parts in
 * the space the head was trained on, and a text that fits is unchanged.
 */
export type LongText = 'truncate' | 'windows';

/** A window over a text's pieces (special tokens excluded): [start, end). */
export interface Span {
  start: number;
  end: number;
}

/**
 * The windows that cover `pieces` pieces when a window holds `capacity` of them: one window when
 * the text fits (or `truncate`: its first `capacity` pieces); otherwise windows that advance by
 * `capacity - overlap`, the last one ending at the text's end, so every window is full and every
 * piece is read with context on both sides except at the text's own ends.
 */
export function windowSpans(pieces: number, capacity: number, longText: LongText, overlap: number): Span[] {
  if (pieces <= capacity || longText === 'truncate') return [{ start: 0, end: Math.min(pieces, capacity) }];
  const stride = capacity - overlap;
  const spans: Span[] = [];
  let start = 0;
  for (; start + capacity < pieces; start += stride) spans.push({ start, end: start + capacity });
  spans.push({ start: pieces - capacity, end: pieces });
  return spans;
}
