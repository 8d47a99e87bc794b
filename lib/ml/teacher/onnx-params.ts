import { readFileSync } from 'node:fs';
import { KdError } from '../../errors.js';

interface Span {
  start: number;
  end: number;
}

function varint(bytes: Uint8Array, at: number): { value: number; next: number } {
  let value = 0;
  let scale = 1;
  let i = at;
  for (;;) {
    if (i >= bytes.length) throw new KdError('ONNX file truncated (varint)');
    const byte = bytes[i++]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return { value, next: i };
    scale *= 128;
  }
}

interface Field {
  field: number;
  wire: number;
  /** Where the value starts (after the key) and where the next field starts. */
  start: number;
  end: number;
}

/** The fields between `start` and `end`, in order: number, wire type and the bytes of the value. */
function* fieldsIn(bytes: Uint8Array, start: number, end: number): Generator<Field> {
  let at = start;
  while (at < end) {
    const key = varint(bytes, at);
    const field = Math.floor(key.value / 8);
    const wire = key.value % 8;
    let value = key.next;
    let next: number;
    if (wire === 0) next = varint(bytes, value).next;
    else if (wire === 1) next = value + 8;
    else if (wire === 5) next = value + 4;
    else if (wire === 2) {
      const length = varint(bytes, value);
      value = length.next;
      next = length.next + length.value;
    } else throw new KdError(`ONNX file: unsupported protobuf wire type ${wire}`);
    yield { field, wire, start: value, end: next };
    at = next;
  }
}

/** Length-delimited fields numbered `wanted` between `start` and `end`. */
function* fields(bytes: Uint8Array, start: number, end: number, wanted: number): Generator<Span> {
  for (const f of fieldsIn(bytes, start, end)) if (f.field === wanted && f.wire === 2) yield { start: f.start, end: f.end };
}

/** TensorProto fields this file reads: dims (1), data_type (2), name (8), raw_data (9). */
interface TensorInfo {
  name: string;
  dims: number[];
  dataType: number;
  raw: Span | null;
}

function tensorInfo(bytes: Uint8Array, span: Span): TensorInfo {
  const info: TensorInfo = { name: '', dims: [], dataType: 0, raw: null };
  for (const f of fieldsIn(bytes, span.start, span.end)) {
    if (f.field === 1) {
      if (f.wire !== 2) info.dims.push(varint(bytes, f.start).value);
      else {
        for (let p = f.start; p < f.end; ) {
          const dim = varint(bytes, p);
          info.dims.push(dim.value);
          p = dim.next;
        }
      }
    } else if (f.field === 2) info.dataType = varint(bytes, f.start).value;
    else if (f.field === 8) info.name = Buffer.from(bytes.subarray(f.start, f.end)).toString('utf8');
    else if (f.field === 9) info.raw = { start: f.start, end: f.end };
  }
  return info;
}

// ONNX TensorProto.DataType values this reader understands.
const FLOAT = 1;
const UINT8 = 2;
const INT8 = 3;

/**
 * The encoder's input word-embedding table [rows × width] as float32: the graph initializer of at
 * least `minRows` rows named like `…word_embeddings…` — float, or quantised per row as `<name>_q` (int8 or
 * uint8) with `<name>_scale` and an optional `<name>_zero_point`, as ONNX Runtime's quantiser
 * writes it. Null when the model has none (the student then starts from random embeddings).
 */
export function onnxWordEmbeddings(file: string, minRows: number): { width: number; data: Float32Array } | null {
  const bytes = readFileSync(file);
  const tensors = new Map<string, TensorInfo>();
  for (const graph of fields(bytes, 0, bytes.length, 7)) {
    for (const span of fields(bytes, graph.start, graph.end, 5)) {
      const info = tensorInfo(bytes, span);
      tensors.set(info.name, info);
    }
  }
  const table = [...tensors.values()].find((t) => /word_embeddings/.test(t.name) && t.dims.length === 2 && t.dims[0]! >= minRows && t.raw !== null);
  if (!table) return null;
  const [rows, width] = table.dims as [number, number];
  const raw = bytes.subarray(table.raw!.start, table.raw!.end);
  const data = new Float32Array(rows * width);
  if (table.dataType === FLOAT) {
    data.set(new Float32Array(Uint8Array.from(raw).buffer));
    return { width, data };
  }
  const base = table.name.replace(/_q(uantized)?$/, '');
  const scale = tensors.get(`${base}_scale`);
  if (!scale?.raw || (table.dataType !== INT8 && table.dataType !== UINT8)) return null;
  const scales = new Float32Array(Uint8Array.from(bytes.subarray(scale.raw.start, scale.raw.end)).buffer);
  const zero = tensors.get(`${base}_zero_point`);
  const zeros = zero?.raw ? bytes.subarray(zero.raw.start, zero.raw.end) : null;
  const perRow = scales.length === rows;
  for (let r = 0; r < rows; r++) {
    const s = perRow ? scales[r]! : scales[0]!;
    const z = zeros ? (table.dataType === INT8 ? (zeros[perRow ? r : 0]! << 24) >> 24 : zeros[perRow ? r : 0]!) : 0;
    for (let c = 0; c < width; c++) {
      const q = table.dataType === INT8 ? (raw[r * width + c]! << 24) >> 24 : raw[r * width + c]!;
      data[r * width + c] = (q - z) * s;
    }
  }
  return { width, data };
}
