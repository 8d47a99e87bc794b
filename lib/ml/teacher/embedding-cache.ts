import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Where the cache lives under the project root; `KD_EMBEDDING_CACHE` moves it (e.g. to share it between projects). */
export const EMBEDDING_CACHE_DIR = '.kd/embeddings';
export const EMBEDDING_CACHE_ENV = 'KD_EMBEDDING_CACHE';

const KEY_BYTES = 32;
const SEGMENT = /^[0-9a-f]{16}\.seg$/;

/** The encoder's identity as far as its outputs go: same key ⇒ same vector for the same text. */
export interface EncoderKey {
  fingerprint: string;
  pooling: string;
  maxTokens: number;
  output: string;
  /** How a text longer than maxTokens is read (e.g. `windows:16`); absent: truncated, as before windows existed. */
  longText?: string;
}

export function embeddingCacheRoot(root: string): string {
  return process.env[EMBEDDING_CACHE_ENV] ? path.resolve(process.env[EMBEDDING_CACHE_ENV]) : path.join(root, EMBEDDING_CACHE_DIR);
}

function textKey(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Encoder outputs by exact text, on disk, so that retraining the head, labelling a transfer set
 * again or evaluating never re-encodes a sentence already encoded.
 *
 * One folder per encoder key (model fingerprint, pooling, max_tokens, output kind, long-text
 * windows); in it,
 * immutable segment files of fixed-size records (sha256 of the text, then `dim` float32s), each
 * written whole to a temp file and renamed into place. Readers load every segment, so concurrent
 * writers (two stages, two experiment trials) never corrupt one another, and an interrupted write
 * leaves at most a temp file that is never read.
 */
export class EmbeddingCache {
  private readonly dir: string;
  private readonly vectors = new Map<string, Float32Array>();
  private readonly fresh: [string, Float32Array][] = [];

  constructor(
    cacheRoot: string,
    key: EncoderKey,
    private readonly dim: number,
  ) {
    const parts = [key.fingerprint, key.pooling, key.maxTokens, key.output, dim, ...(key.longText === undefined ? [] : [key.longText])];
    const name = createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 24);
    this.dir = path.join(cacheRoot, name);
    this.load();
  }

  private load(): void {
    if (!existsSync(this.dir)) return;
    const record = KEY_BYTES + this.dim * 4;
    for (const name of readdirSync(this.dir)) {
      if (!SEGMENT.test(name)) continue;
      const bytes = readFileSync(path.join(this.dir, name));
      // One aligned array per segment, each vector a view of it: an array per vector costs
      // ~70 % more memory than its floats, which tens of thousands of cached sentences feel.
      const count = Math.floor(bytes.length / record);
      const slab = new Float32Array(count * this.dim);
      const slabBytes = new Uint8Array(slab.buffer);
      for (let i = 0; i < count; i++) {
        const at = i * record;
        slabBytes.set(bytes.subarray(at + KEY_BYTES, at + record), i * this.dim * 4);
        this.vectors.set(bytes.subarray(at, at + KEY_BYTES).toString('hex'), slab.subarray(i * this.dim, (i + 1) * this.dim));
      }
    }
  }

  get size(): number {
    return this.vectors.size;
  }

  get(text: string): Float32Array | undefined {
    return this.vectors.get(textKey(text));
  }

  set(text: string, vector: Float32Array): void {
    const key = textKey(text);
    if (this.vectors.has(key)) return;
    this.vectors.set(key, vector);
    this.fresh.push([key, vector]);
  }

  /** Writes what was added since the last flush as one new segment. */
  flush(): void {
    if (this.fresh.length === 0) return;
    mkdirSync(this.dir, { recursive: true });
    const record = KEY_BYTES + this.dim * 4;
    const bytes = Buffer.alloc(this.fresh.length * record);
    this.fresh.forEach(([key, vector], i) => {
      bytes.write(key, i * record, 'hex');
      Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).copy(bytes, i * record + KEY_BYTES);
    });
    const name = `${randomBytes(8).toString('hex')}.seg`;
    const tmp = path.join(this.dir, `.${name}.tmp-${process.pid}`);
    try {
      writeFileSync(tmp, bytes);
      renameSync(tmp, path.join(this.dir, name));
    } finally {
      rmSync(tmp, { force: true });
    }
    this.fresh.length = 0;
  }
}
