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

/** Length-delimited fields numbered `wanted` between `start` and `end`; every other field is skipped. */
function* fields(bytes: Uint8Array, start: number, end: number, wanted: number): Generator<Span> {
  let at = start;
  while (at < end) {
    const key = varint(bytes, at);
    at = key.next;
    const field = Math.floor(key.value / 8);
    const wire = key.value % 8;
    if (wire === 0) at = varint(bytes, at).next;
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const length = varint(bytes, at);
      const span = { start: length.next, end: length.next + length.value };
      at = span.end;
      if (field === wanted) yield span;
    } else throw new KdError(`ONNX file: unsupported protobuf wire type ${wire}`);
  }
}

/** The product of TensorProto.dims (field 1: packed, or one varint per dimension); 1 for a scalar. */
function tensorElements(bytes: Uint8Array, start: number, end: number): number {
  const dims: number[] = [];
  let at = start;
  while (at < end) {
    const key = varint(bytes, at);
    at = key.next;
    const field = Math.floor(key.value / 8);
    const wire = key.value % 8;
    if (field === 1 && wire === 0) {
      const dim = varint(bytes, at);
      dims.push(dim.value);
      at = dim.next;
    } else if (field === 1 && wire === 2) {
      const length = varint(bytes, at);
      for (let p = length.next; p < length.next + length.value; ) {
        const dim = varint(bytes, p);
        dims.push(dim.value);
        p = dim.next;
      }
      at = length.next + length.value;
    } else if (wire === 0) at = varint(bytes, at).next;
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const length = varint(bytes, at);
      at = length.next + length.value;
    } else throw new KdError(`ONNX file: unsupported protobuf wire type ${wire}`);
  }
  return dims.reduce((a, b) => a * b, 1);
}
