import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, describe, expect, it } from 'vitest';
import type { EncoderInfo } from '../../lib/ml/teacher/encoder-folder.js';
import { SentenceEncoder } from '../../lib/ml/teacher/sentence-encoder.js';
import { loadTransformers } from '../../lib/ml/teacher/transformers.js';
import { defaultEncoderDir } from './encoder-fixture.js';

const { onnx } = onnxProto;
const { DataType } = onnx.TensorProto;
const VOCAB = 30_522; // the default encoder's tokenizer
const HIDDEN = 4;
const created: string[] = [];

afterAll(() => {
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
});

/** Row `i` of the toy encoder's table: halves from −2.5 to 3.5, exact in float16 too, never all zero. */
function tableValue(i: number, d: number): number {
  return ((i * 5 + d * 3) % 7) - 2.5;
}

/** float16 bits of the halves tableValue gives. */
function half(x: number): number {
  const bits: Record<number, number> = { 0.5: 0x3800, 1.5: 0x3e00, 2.5: 0x4100, 3.5: 0x4300 };
  return (x < 0 ? 0x8000 : 0) | bits[Math.abs(x)]!;
}

interface Toy {
  opset: number;
  dtype: 'float32' | 'float16';
  /** Store the table in onnx/model.onnx_data beside the model, as large exports do. */
  external: boolean;
}

/**
 * An encoder folder whose "transformer" is an embedding lookup: last_hidden_state[b, t] =
 * table[input_ids[b, t]] (attention_mask is an input it does not read, token_type_ids is absent),
 * with the default encoder's tokenizer. The pooled embedding is then plain arithmetic on the table.
 */
function toyEncoder({ opset, dtype, external }: Toy): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'kd-toy-encoder-'));
  created.push(dir);
  mkdirSync(path.join(dir, 'onnx'));
  for (const file of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(path.join(defaultEncoderDir(), file), path.join(dir, file));
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'bert', hidden_size: HIDDEN }));

  const values = Array.from({ length: VOCAB * HIDDEN }, (_, k) => tableValue(Math.floor(k / HIDDEN), k % HIDDEN));
  const raw = dtype === 'float32' ? new Uint8Array(Float32Array.from(values).buffer) : new Uint8Array(Uint16Array.from(values, half).buffer);
  const elemType = dtype === 'float32' ? DataType.FLOAT : DataType.FLOAT16;
  const table: onnxProto.onnx.ITensorProto = { name: 'table', dataType: elemType, dims: [VOCAB, HIDDEN] };
  if (external) {
    writeFileSync(path.join(dir, 'onnx/model.onnx_data'), raw);
    Object.assign(table, {
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: 'model.onnx_data' },
        { key: 'offset', value: '0' },
        { key: 'length', value: String(raw.length) },
      ],
    });
  } else table.rawData = raw;
  const ids = { tensorType: { elemType: DataType.INT64, shape: { dim: [{ dimParam: 'batch' }, { dimParam: 'sequence' }] } } };
  const model = onnx.ModelProto.create({
    irVersion: opset >= 13 ? 7 : 6,
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: 'toy',
      node: [{ opType: 'Gather', input: ['table', 'input_ids'], output: ['last_hidden_state'], attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }] }],
      initializer: [table],
      input: [
        { name: 'input_ids', type: ids },
        { name: 'attention_mask', type: ids },
      ],
      output: [{ name: 'last_hidden_state', type: { tensorType: { elemType } } }],
    },
  });
  writeFileSync(path.join(dir, 'onnx/model.onnx'), onnx.ModelProto.encode(model).finish());
  return dir;
}

function normalised(v: number[]): number[] {
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

const TEXTS = ['A film I would watch again.', 'Zut, le service était lent.', 'ok', '这家餐厅很好吃'];

describe('the encoder pools inside the ONNX graph', () => {
  it.each([
    { opset: 17, dtype: 'float32', external: true, pooling: 'mean' },
    { opset: 11, dtype: 'float16', external: false, pooling: 'mean' },
    { opset: 11, dtype: 'float32', external: false, pooling: 'cls' },
    { opset: 14, dtype: 'float16', external: true, pooling: 'cls' },
  ] as const)('opset $opset, $dtype, external data $external, $pooling pooling: the L2-normalised pooled rows', async ({ pooling, ...toy }) => {
    const dir = toyEncoder(toy);
    const info = { onnx: 'onnx/model.onnx' } as EncoderInfo;
    const p = { model: '', dtype: 'fp32', pooling, max_tokens: 128, long_text: 'windows', window_overlap: 16, batch_size: 3, device: 'cpu', threads: 1, head: {} as never } as const;
    const encoder = await SentenceEncoder.load(dir, info, p, 'embedding');
    const { AutoTokenizer } = await loadTransformers();
    const tokenizer = await AutoTokenizer.from_pretrained(dir, { local_files_only: true });
    try {
      expect(encoder.dim).toBe(HIDDEN);
      // Batches of 3 over texts of different lengths: padded rows must not count.
      const rows = await encoder.encode(TEXTS);
      TEXTS.forEach((text, i) => {
        const ids = tokenizer.encode(text);
        const read = pooling === 'cls' ? ids.slice(0, 1) : ids;
        const expected = normalised(Array.from({ length: HIDDEN }, (_, d) => read.reduce((sum, id) => sum + tableValue(id, d), 0) / read.length));
        expect(Array.from(rows[i]!).map((x, d) => Math.abs(x - expected[d]!)).every((gap) => gap < 1e-6), `${text}: ${Array.from(rows[i]!)} vs ${expected}`).toBe(true);
      });
    } finally {
      await encoder.dispose();
    }
  });

  it('a model whose external data is missing: names the model and the file it needs', async () => {
    const dir = toyEncoder({ opset: 17, dtype: 'float32', external: true });
    rmSync(path.join(dir, 'onnx/model.onnx_data'));
    const p = { model: '', dtype: 'fp32', pooling: 'mean', max_tokens: 128, long_text: 'windows', window_overlap: 16, batch_size: 3, device: 'cpu', threads: 1, head: {} as never } as const;
    await expect(SentenceEncoder.load(dir, { onnx: 'onnx/model.onnx' } as EncoderInfo, p, 'embedding')).rejects.toThrow(
      `${path.join(dir, 'onnx/model.onnx')}: its weights are stored in model.onnx_data, which is missing beside it`,
    );
  });
});
