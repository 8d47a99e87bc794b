import { cpus } from 'node:os';
import path from 'node:path';
import { KdError } from '../../errors.js';
import type { EncoderInfo, TransformerParams } from './encoder-folder.js';
import { countOnnxParams } from './onnx-params.js';
import { onnxRuntimeInfo } from './onnx-runtime.js';
import { loadTransformers } from './transformers.js';
import { Throughput } from './throughput.js';

type Tokenizer = Awaited<ReturnType<Awaited<ReturnType<typeof loadTransformers>>['AutoTokenizer']['from_pretrained']>>;
type Model = Awaited<ReturnType<Awaited<ReturnType<typeof loadTransformers>>['AutoModel']['from_pretrained']>>;
interface OutputTensor {
  dims: number[];
  data: Float32Array;
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
 * A pretrained transformer encoder from a folder in the Hugging Face layout, run through
 * transformers.js (its tokenizer; ONNX Runtime for the model). `embed` returns mean- or
 * CLS-pooled, L2-normalised sentence embeddings (what sentence-transformers computes for models
 * like all-MiniLM-L6-v2); `logits` the model's own sequence-classification output.
 */
export class SentenceEncoder {
  private constructor(
    private readonly tokenizer: Tokenizer,
    private readonly model: Model,
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
    const { AutoTokenizer, AutoModel, AutoModelForSequenceClassification } = await loadTransformers();
    const where = shownAs;
    let tokenizer: Tokenizer;
    try {
      tokenizer = await AutoTokenizer.from_pretrained(dir, { local_files_only: true });
    } catch (error) {
      throw new KdError(`${path.join(path.dirname(path.dirname(where)), 'tokenizer.json')}: transformers.js cannot read the tokenizer (${(error as Error).message})`);
    }
    const threads = p.threads > 0 ? p.threads : cpus().length;
    const Loader = output === 'logits' ? AutoModelForSequenceClassification : AutoModel;
    let model: Model | undefined;
    let provider = '';
    const failures: string[] = [];
    for (const device of providers(p.device)) {
      try {
        model = (await Loader.from_pretrained(dir, {
          dtype: p.dtype,
          device: device as 'cpu',
          local_files_only: true,
          session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 },
        })) as Model;
        provider = device;
        break;
      } catch (error) {
        failures.push(`${device}: ${(error as Error).message.split('\n')[0]}`);
      }
    }
    if (!model) throw new KdError(`${where}: ONNX Runtime cannot load it (${failures.join('; ')})`);

    const session = (model as unknown as { sessions: Record<string, { inputNames: string[]; outputNames: string[] }> }).sessions.model!;
    const wanted = output === 'logits' ? 'logits' : 'last_hidden_state';
    const lacking = ['input_ids', 'attention_mask'].filter((name) => !session.inputNames.includes(name));
    if (lacking.length > 0 || !session.outputNames.includes(wanted)) {
      await model.dispose();
      throw new KdError(
        `${where}: unexpected inputs/outputs: has inputs [${session.inputNames.join(', ')}] and outputs [${session.outputNames.join(', ')}], ` +
          `needs inputs input_ids, attention_mask and output ${wanted} (a Hugging Face encoder exported to ONNX)`,
      );
    }
    const config = model.config as unknown as { hidden_size?: number; id2label?: Record<number, string> };
    const id2label = config.id2label ?? {};
    const dim = output === 'logits' ? Object.keys(id2label).length : (config.hidden_size ?? 0);
    return new SentenceEncoder(tokenizer, model, p, info, provider, output, dim, countOnnxParams(path.join(dir, info.onnx)), id2label);
  }

  /** The tokenizer's mask token ([MASK], <mask>, …): what a masked word becomes in augmented text the encoder reads. */
  get maskToken(): string {
    return (this.tokenizer as unknown as { mask_token?: string | null }).mask_token ?? '';
  }

  /**
   * One row of `dim` floats per text, in input order. Texts are sorted by length and cut into
   * batches of `batch_size`, so a batch pads little.
   */
  async encode(texts: readonly string[], { onProgress }: EncodeProgress = {}): Promise<Float32Array[]> {
    const out: Float32Array[] = new Array(texts.length);
    const order = texts.map((_, i) => i).sort((a, b) => texts[a]!.length - texts[b]!.length);
    const meter = new Throughput(texts.length, onProgress);
    for (let start = 0; start < order.length; start += this.p.batch_size) {
      const idx = order.slice(start, start + this.p.batch_size);
      const rows = await this.forward(idx.map((i) => texts[i]!));
      idx.forEach((i, k) => {
        out[i] = rows[k]!;
      });
      meter.add(idx.length);
    }
    return out;
  }

  private async forward(batch: string[]): Promise<Float32Array[]> {
    const inputs = this.tokenizer(batch, { padding: true, truncation: true, max_length: this.p.max_tokens });
    const result = (await this.model(inputs)) as Record<string, OutputTensor>;
    if (this.output === 'logits') {
      const { dims, data } = result.logits!;
      return batch.map((_, row) => data.slice(row * dims[1]!, (row + 1) * dims[1]!));
    }
    const hidden = result.last_hidden_state!;
    const mask = (inputs as unknown as { attention_mask: { data: BigInt64Array | Int32Array } }).attention_mask.data;
    return pool(hidden, mask, this.p.pooling);
  }

  async dispose(): Promise<void> {
    await this.model.dispose();
  }
}

/**
 * Mean over the positions the attention mask marks (padding excluded), or the first ([CLS])
 * position; then each row divided by its L2 norm.
 */
export function pool(hidden: OutputTensor, mask: ArrayLike<bigint | number>, pooling: TransformerParams['pooling']): Float32Array[] {
  const [rows, length, dim] = hidden.dims as [number, number, number];
  const out: Float32Array[] = [];
  for (let r = 0; r < rows; r++) {
    const v = new Float32Array(dim);
    const base = r * length * dim;
    if (pooling === 'cls') v.set(hidden.data.subarray(base, base + dim));
    else {
      let count = 0;
      for (let t = 0; t < length; t++) {
        if (Number(mask[r * length + t]) === 0) continue;
        count++;
        const offset = base + t * dim;
        for (let d = 0; d < dim; d++) v[d]! += hidden.data[offset + d]!;
      }
      for (let d = 0; d < dim; d++) v[d]! /= Math.max(count, 1);
    }
    let norm = 0;
    for (let d = 0; d < dim; d++) norm += v[d]! * v[d]!;
    norm = Math.max(Math.sqrt(norm), 1e-12);
    for (let d = 0; d < dim; d++) v[d]! /= norm;
    out.push(v);
  }
  return out;
}
