import type * as tfTypes from '@tensorflow/tfjs';
import type { Tf } from '../backend/backend.js';
import type { Word } from '../text/augment.js';
import { embeddingTensor } from './transformer-member.js';

// Queries per matrix product: bounds memory at QUERY_CHUNK × words floats.
const QUERY_CHUNK = 512;

/**
 * For each query word, the `k` words most similar to it by the cosine of their embeddings (each
 * word encoded alone by the teacher's encoder, L2-normalised, so the dot product is the cosine).
 * The query itself is never its own neighbour.
 */
export function nearestWords(tf: Tf, words: readonly string[], vectors: readonly Float32Array[], queries: ReadonlySet<string>, k: number): Map<string, Word[]> {
  const dim = vectors[0]?.length ?? 0;
  const index = new Map(words.map((word, i) => [word, i]));
  const asked = [...queries].filter((q) => index.has(q));
  const out = new Map<string, Word[]>();
  if (asked.length === 0 || words.length < 2) return out;
  const all = embeddingTensor(tf, vectors, dim);
  try {
    for (let start = 0; start < asked.length; start += QUERY_CHUNK) {
      const chunk = asked.slice(start, start + QUERY_CHUNK);
      const top = tf.tidy(() => {
        const q = tf.gather(all, tf.tensor1d(chunk.map((w) => index.get(w)!), 'int32')) as tfTypes.Tensor2D;
        return tf.topk(tf.matMul(q, all, false, true), Math.min(k + 1, words.length)).indices;
      });
      const rows = top.arraySync() as number[][];
      top.dispose();
      chunk.forEach((word, r) => {
        const self = index.get(word);
        out.set(
          word,
          rows[r]!
            .filter((i) => i !== self)
            .slice(0, k)
            .map((i) => ({ surface: words[i]!, token: words[i]! })),
        );
      });
    }
  } finally {
    all.dispose();
  }
  return out;
}
