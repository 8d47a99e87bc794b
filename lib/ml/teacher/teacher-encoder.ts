import { EmbeddingCache, embeddingCacheRoot } from './embedding-cache.js';
import { readEncoderFolder, type TransformerParams } from './encoder-folder.js';
import { SentenceEncoder, type EncoderOutput } from './sentence-encoder.js';
import { progressLine } from './throughput.js';

/**
 * The project's encoder (models/encoder) behind its embedding cache: `encode` runs the model only
 * on texts the cache lacks, and stores what it computed.
 */
export class TeacherEncoder {
  /** Texts served from the cache and texts encoded, since this encoder was opened. */
  readonly stats = { cached: 0, encoded: 0 };

  private constructor(
    readonly encoder: SentenceEncoder,
    private readonly cache: EmbeddingCache,
  ) {}

  static async open(root: string, p: TransformerParams, output: EncoderOutput): Promise<TeacherEncoder> {
    const { dir, info } = readEncoderFolder(root);
    const encoder = await SentenceEncoder.load(dir, info, p, output);
    // Truncation keeps the key it had before windows existed, so those caches stay valid.
    const longText = p.long_text === 'windows' ? `windows:${p.window_overlap}` : undefined;
    const key = { fingerprint: info.fingerprint, pooling: output === 'logits' ? 'none' : p.pooling, maxTokens: p.max_tokens, output, ...(longText ? { longText } : {}) };
    const cache = new EmbeddingCache(embeddingCacheRoot(root), key, encoder.dim);
    return new TeacherEncoder(encoder, cache);
  }

  /** One row per text, in order; `label` names the work in the progress line (none without it). */
  async encode(texts: readonly string[], label?: string): Promise<Float32Array[]> {
    // One cache lookup per text; the rows encoded now are handed out directly.
    const out = texts.map((text) => this.cache.get(text));
    const missing = [...new Set(texts.filter((_, i) => out[i] === undefined))];
    if (missing.length > 0) {
      const rows = await this.encoder.encode(missing, label === undefined ? {} : { onProgress: progressLine(`${label}: encoding`) });
      const fresh = new Map(missing.map((text, i) => [text, rows[i]!]));
      missing.forEach((text, i) => this.cache.set(text, rows[i]!));
      this.cache.flush();
      texts.forEach((text, i) => (out[i] ??= fresh.get(text)));
    }
    this.stats.encoded += missing.length;
    this.stats.cached += texts.length - missing.length;
    return out as Float32Array[];
  }

  async dispose(): Promise<void> {
    await this.encoder.dispose();
  }
}
