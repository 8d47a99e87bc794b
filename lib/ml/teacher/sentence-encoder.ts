import { cpus } from 'node:os';
import path from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { KdError } from '../../errors.js';
import type { EncoderInfo, TransformerParams } from './encoder-folder.js';
import { POOLED_OUTPUT, readEncoderModel, withPoolingHead } from './encoder-model.js';
import { onnxRuntimeInfo } from './onnx-runtime.js';
import { loadTransformers } from './transformers.js';
import { Throughput } from './throughput.js';
import { windowSpans } from './windows.js';

type Tokenizer = Awaited<ReturnType<Awaited<ReturnType<typeof loadTransformers>>['AutoTokenizer']['from_pretrained']>>;

/** What the model reads for one text, or for one window of a long text. */
interface Item {
  text: number;
  ids: number[];
}

interface Buffers {
  ids: BigInt64Array;
  mask: BigInt64Array;
  types: BigInt64Array;
}

function newBuffers(size: number): Buffers {
  return { ids: new BigInt64Array(size), mask: new BigInt64Array(size), types: new BigInt64Array(size) };
}

/**
 * Python onnxruntime's session defaults with `threads` intra-op threads, except that idle
 * intra-op threads sleep instead of spinning: on a CPU shared with other work spinning threads
 * halve throughput (docs/distill-bench.md#encoder-throughput).
 */
function sessionOptions(threads: number): InferenceSession.SessionOptions {
  return { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', extra: { session: { intra_op: { allow_spinning: '0' } } } };
}

/** The special tokens the tokenizer puts around every text ([CLS] … [SEP] for BERT). */
interface Specials {
  prefix: number[];
  suffix: number[];
}

/** The special tokens around `probe`'s pieces, read off the tokenizer's own output with and without them. */
function specialsOf(tokenizer: Tokenizer, where: string): Specials {
  const probe = 'hello world';
  const bare = tokenizer.encode(probe, { add_special_tokens: false });
  const full = tokenizer.encode(probe, { add_special_tokens: true });
  for (let k = 0; k + bare.length <= full.length; k++) {
    if (bare.every((id, i) => full[k + i] === id)) return { prefix: full.slice(0, k), suffix: full.slice(k + bare.length) };
  }
  throw new KdError(`${where}: the tokenizer's output with special tokens does not contain its output without them: not a single-sequence encoder tokenizer`);
}

/** What the encoder outputs per sentence: a pooled embedding, or the model's own classification logits. */
export type EncoderOutput = 'embedding' | 'logits';

export interface EncodeProgress {
  /** Called now and then while a long list is encoded (sentences done, sentences in all, sentences per second). */
  onProgress?: (done: number, total: number, rate: number) => void;
}

/** Which ONNX Runtime execution providers to ask for, best first: auto tries CUDA only where its libraries are installed. */
function providers(device: TransformerParams['device']): string[] {
  if (device === 'auto') return onnxRuntimeInfo().providers;
  return [device];
}

/**
 * A pretrained transformer encoder from a folder in the Hugging Face layout: transformers.js reads
 * the tokenizer and the config; the ONNX Runtime session (onnxruntime-node, the runtime
 * transformers.js uses in Node) is this class's own. `embedding` rows are mean- or CLS-pooled,
 * L2-normalised sentence embeddings (what sentence-transformers computes for models like
 * all-MiniLM-L6-v2), pooled by a head appended to the model's graph (encoder-model.ts); `logits`
 * the model's own sequence-classification output. A text longer than max_tokens is read in windows
 * (windows.ts).
 */
export class SentenceEncoder {
  /** Input buffers, reused by every batch (the session copies its inputs). */
  private buffers?: Buffers;

  private constructor(
    private readonly tokenizer: Tokenizer,
    private readonly session: InferenceSession,
    /** The output read: the pooled embedding (POOLED_OUTPUT) or the logits. */
    private readonly fetch: string,
    private readonly specials: Specials,
    private readonly p: TransformerParams,
    readonly info: EncoderInfo,
    /** The ONNX Runtime execution provider the session runs on ('cpu' or 'cuda'). */
    readonly provider: string,
    readonly output: EncoderOutput,
    /** Width of one output row: hidden size for embeddings, number of labels for logits. */
    readonly dim: number,
    readonly paramCount: number,
    readonly id2label: Record<number, string>,
  ) {}

  /** `shownAs` names the ONNX file in errors (the folder being filled is a temp folder). */
  static async load(dir: string, info: EncoderInfo, p: TransformerParams, output: EncoderOutput, shownAs = path.join(dir, info.onnx)): Promise<SentenceEncoder> {
    const { AutoTokenizer, AutoConfig } = await loadTransformers();
    const where = shownAs;
    const folderFile = (name: string) => path.join(path.dirname(path.dirname(where)), name);
    let tokenizer: Tokenizer;
    try {
      tokenizer = await AutoTokenizer.from_pretrained(dir, { local_files_only: true });
    } catch (error) {
      throw new KdError(`${folderFile('tokenizer.json')}: transformers.js cannot read the tokenizer (${(error as Error).message})`);
    }
    const config = (await AutoConfig.from_pretrained(dir, { local_files_only: true })) as unknown as { hidden_size?: number; id2label?: Record<number, string> };
    const model = readEncoderModel(path.join(dir, info.onnx), where);
    const wanted = output === 'logits' ? 'logits' : 'last_hidden_state';
    const lacking = ['input_ids', 'attention_mask'].filter((name) => !model.inputs.includes(name));
    if (lacking.length > 0 || !model.outputs.includes(wanted)) {
      throw new KdError(
        `${where}: unexpected inputs/outputs: has inputs [${model.inputs.join(', ')}] and outputs [${model.outputs.join(', ')}], ` +
          `needs inputs input_ids, attention_mask and output ${wanted} (a Hugging Face encoder exported to ONNX)`,
      );
    }
    // Embeddings are pooled inside the graph; logits are the model's own output.
    const bytes = output === 'embedding' ? withPoolingHead(model, p.pooling, wanted, 'attention_mask') : model.bytes;
    const fetch = output === 'embedding' ? POOLED_OUTPUT : wanted;

    const threads = p.threads > 0 ? p.threads : cpus().length;
    let session: InferenceSession | undefined;
    let provider = '';
    const failures: string[] = [];
    for (const device of providers(p.device)) {
      try {
        session = await InferenceSession.create(bytes, { ...sessionOptions(threads), executionProviders: [device], externalData: model.externalData });
        provider = device;
        break;
      } catch (error) {
        failures.push(`${device}: ${(error as Error).message.split('\n')[0]}`);
      }
    }
    if (!session) throw new KdError(`${where}: ONNX Runtime cannot load it (${failures.join('; ')})`);

    const id2label = config.id2label ?? {};
    const dim = output === 'logits' ? Object.keys(id2label).length : (config.hidden_size ?? 0);
    const specials = specialsOf(tokenizer, folderFile('tokenizer.json'));
    if (specials.prefix.length + specials.suffix.length >= p.max_tokens) {
      await session.release();
      throw new KdError(`params.yaml: teacher.transformer.max_tokens: ${p.max_tokens} leaves no room for a text's pieces beside the tokenizer's ${specials.prefix.length + specials.suffix.length} special tokens`);
    }
    if (p.long_text === 'windows' && p.window_overlap >= p.max_tokens - specials.prefix.length - specials.suffix.length) {
      await session.release();
      throw new KdError(
        `params.yaml: teacher.transformer.window_overlap: ${p.window_overlap} must be below the pieces a window holds (max_tokens ${p.max_tokens} − ${specials.prefix.length + specials.suffix.length} special tokens)`,
      );
    }
    return new SentenceEncoder(tokenizer, session, fetch, specials, p, info, provider, output, dim, model.params, id2label);
  }

  /** The tokenizer's mask token ([MASK], <mask>, …): what a masked word becomes in augmented text the encoder reads. */
  get maskToken(): string {
    return (this.tokenizer as unknown as { mask_token?: string | null }).mask_token ?? '';
  }

  /**
   * One row of `dim` floats per text, in input order. Each text is tokenised once (a text longer
   * than max_tokens becomes one item per window, see windows.ts); items are sorted by their number
   * of pieces and cut into batches of `batch_size`, so a batch pads little; the ONNX session runs
   * on int64 tensors built here.
   * Batches run one after another on the session's `threads` intra-op threads: onnxruntime-node
   * runs one session call at a time, so two sessions side by side ("lanes", tried before) used one
   * core between them (docs/distill-bench.md#encoder-throughput).
   */
  async encode(texts: readonly string[], { onProgress }: EncodeProgress = {}): Promise<Float32Array[]> {
    const items = this.tokenise(texts);
    const order = items.map((_, i) => i).sort((a, b) => items[a]!.ids.length - items[b]!.ids.length || a - b);
    const batches: Item[][] = [];
    for (let start = 0; start < order.length; start += this.p.batch_size) batches.push(order.slice(start, start + this.p.batch_size).map((i) => items[i]!));
    const windows = new Int32Array(texts.length);
    for (const item of items) windows[item.text]!++;
    const left = windows.slice();
    const meter = new Throughput(texts.length, onProgress);
    const rows: Float32Array[][] = [];
    for (const batch of batches) {
      rows.push(await this.forward(batch));
      meter.add(batch.filter((item) => --left[item.text]! === 0).length);
    }

    // A text's windows, combined in batch order.
    const out: Float32Array[] = new Array(texts.length);
    const positions = new Float64Array(texts.length);
    batches.forEach((batch, b) =>
      batch.forEach((item, k) => {
        const row = rows[b]![k]!;
        if (windows[item.text] === 1) {
          out[item.text] = row;
          return;
        }
        // A window's row weighs as many positions as it read (see windows.ts).
        const sum = (out[item.text] ??= new Float32Array(this.dim));
        for (let d = 0; d < this.dim; d++) sum[d]! += item.ids.length * row[d]!;
        positions[item.text]! += item.ids.length;
      }),
    );
    windows.forEach((count, i) => {
      if (count > 1) finish(out[i]!, positions[i]!, this.output === 'embedding');
    });
    return out;
  }

  /** How many pieces `text` is, special tokens excluded (what max_tokens and the windows count). */
  pieces(text: string): number {
    return this.tokenizer.encode(text, { add_special_tokens: false }).length;
  }

  /** Ids per item (a text, or one window of a long text), special tokens included. */
  private tokenise(texts: readonly string[]): Item[] {
    const capacity = this.p.max_tokens - this.specials.prefix.length - this.specials.suffix.length;
    const items: Item[] = [];
    texts.forEach((text, index) => {
      const pieces = this.tokenizer.encode(text, { add_special_tokens: false });
      for (const { start, end } of windowSpans(pieces.length, capacity, this.p.long_text, this.p.window_overlap)) {
        items.push({ text: index, ids: [...this.specials.prefix, ...pieces.slice(start, end), ...this.specials.suffix] });
      }
    });
    return items;
  }

  /** One row per item: its pooled, L2-normalised embedding, or the model's logits. */
  private async forward(batch: Item[]): Promise<Float32Array[]> {
    const width = batch[batch.length - 1]!.ids.length;
    const size = batch.length * width;
    const buffers = (this.buffers ??= newBuffers(this.p.batch_size * this.p.max_tokens));
    const ids = buffers.ids.subarray(0, size).fill(0n);
    const mask = buffers.mask.subarray(0, size).fill(0n);
    // int64 written as two int32 halves (little-endian, ids < 2³¹): no BigInt per token.
    const idWords = new Int32Array(ids.buffer, ids.byteOffset, 2 * size);
    const maskWords = new Int32Array(mask.buffer, mask.byteOffset, 2 * size);
    batch.forEach((item, row) => {
      for (let t = 0, at = 2 * row * width; t < item.ids.length; t++, at += 2) {
        idWords[at] = item.ids[t]!;
        maskWords[at] = 1;
      }
    });
    const dims = [batch.length, width];
    const feeds: Record<string, Tensor> = { input_ids: new Tensor('int64', ids, dims), attention_mask: new Tensor('int64', mask, dims) };
    if (this.session.inputNames.includes('token_type_ids')) feeds.token_type_ids = new Tensor('int64', buffers.types.subarray(0, size), dims);
    const result = await this.session.run(feeds, [this.fetch]);
    const out = result[this.fetch]!;
    try {
      const data = out.data as Float32Array;
      const columns = out.dims[1]!;
      return batch.map((_, row) => data.slice(row * columns, (row + 1) * columns));
    } finally {
      out.dispose();
    }
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/** `sum` divided by `weight`, then (embeddings) by its L2 norm, in place. */
function finish(sum: Float32Array, weight: number, normalise: boolean): Float32Array {
  for (let d = 0; d < sum.length; d++) sum[d]! /= Math.max(weight, 1);
  if (!normalise) return sum;
  let norm = 0;
  for (let d = 0; d < sum.length; d++) norm += sum[d]! * sum[d]!;
  norm = Math.max(Math.sqrt(norm), 1e-12);
  for (let d = 0; d < sum.length; d++) sum[d]! /= norm;
  return sum;
}
