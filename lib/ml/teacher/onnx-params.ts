import { readFileSync } from 'node:fs';
import { KdError } from '../../errors.js';

/**
 * The number of parameters of an ONNX model: the elements of its graph's initializers (weights,
 * biases, embedding tables; a quantised model's scales and zero points are counted too, which
 * adds a fraction of a percent). ONNX Runtime does not expose initializers, so this walks the
 * protobuf: ModelProto.graph (field 7) → GraphProto.initializer (5) → TensorProto.dims (1).
 */
export function countOnnxParams(file: string): number {
  const bytes = readFileSync(file);
  let total = 0;
  for (const graph of fields(bytes, 0, bytes.length, 7)) {
    for (const tensor of fields(bytes, graph.start, graph.end, 5)) total += tensorElements(bytes, tensor.start, tensor.end);
  }
  if (total === 0) throw new KdError(`${file}: no initializers found: not an ONNX model with weights`);
  return total;
}

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

/** The product of TensorProto.dims (field 1: packed, or one varint per dimension); 1 for a scalar. */
function tensorElements(bytes: Uint8Array, start: number, end: number): number {
  let elements = 1;
  for (const f of fieldsIn(bytes, start, end)) {
    if (f.field !== 1) continue;
    for (let p = f.start; p < f.end; ) {
      const dim = varint(bytes, p);
      elements *= dim.value;
      p = dim.next;
    }
  }
  return elements;
}
