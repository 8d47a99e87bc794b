import type { TensorInfo } from '@tensorflow/tfjs';
import { type CpuBackend, type NumericArray, values } from './cpu.js';

/** Row-major strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  for (let d = shape.length - 1, s = 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d]!;
  }
  return strides;
}

/**
 * out[i] = src[Σ_d loc_d(i) · srcStrides[d]] for every index i of a dense `outShape` tensor: a
 * transpose (permuted strides) or a broadcast (stride 0 on repeated dimensions). An odometer over
 * the outer dimensions and a tight loop over the innermost one replace the stock kernels'
 * per-element index → coordinates → index conversions (each allocating arrays).
 */
export function stridedCopy<T extends NumericArray>(src: T, srcStrides: readonly number[], outShape: readonly number[], out: T): T {
  const rank = outShape.length;
  if (rank === 0) {
    out[0] = src[0]!;
    return out;
  }
  const n = outShape[rank - 1]!;
  const step = srcStrides[rank - 1]!;
  if (n === 0) return out;
  const loc = new Array<number>(rank - 1).fill(0);
  let base = 0;
  for (let k = 0; k < out.length; k += n) {
    if (step === 1) out.set(src.subarray(base, base + n), k);
    else if (step === 0) out.fill(src[base]!, k, k + n);
    else for (let j = 0; j < n; j++) out[k + j] = src[base + j * step]!;
    for (let d = rank - 2; d >= 0; d--) {
      base += srcStrides[d]!;
      if (++loc[d]! < outShape[d]!) break;
      base -= loc[d]! * srcStrides[d]!;
      loc[d] = 0;
    }
  }
  return out;
}

/** A new tensor holding `t` broadcast to `outShape` (same dtype). */
export function broadcastTo(backend: CpuBackend, t: TensorInfo, outShape: number[]): TensorInfo {
  const src = values<NumericArray>(backend, t);
  const own = stridesOf(t.shape);
  // Align t's dimensions with the trailing ones of outShape; size-1 and missing dims repeat.
  const offset = outShape.length - t.shape.length;
  const strides = outShape.map((_, d) => (d < offset || t.shape[d - offset] === 1 ? 0 : own[d - offset]!));
  const out = new (src.constructor as new (n: number) => NumericArray)(outShape.reduce((a, b) => a * b, 1));
  return backend.makeTensorInfo(outShape, t.dtype, stridedCopy(src, strides, outShape, out));
}
