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
 * out[i] = src[start + Σ_d loc_d(i) · srcStrides[d]] for every index i of a dense `outShape`
 * tensor: a transpose (permuted strides), a broadcast (stride 0 on repeated dimensions), a slice
 * (`start` at its corner) or a reverse (negative strides from the far end). An odometer over
 * the outer dimensions and a tight loop over the innermost one replace the stock kernels'
 * per-element index → coordinates → index conversions (each allocating arrays).
 */
export function stridedCopy<T extends NumericArray>(src: T, start: number, srcStrides: readonly number[], outShape: readonly number[], out: T): T {
  const rank = outShape.length;
  if (rank === 0) {
    out[0] = src[start]!;
    return out;
  }
  const n = outShape[rank - 1]!;
  const step = srcStrides[rank - 1]!;
  if (n === 0) return out;
  const loc = new Array<number>(rank - 1).fill(0);
  let base = start;
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

/** A new tensor of `outShape` (same dtype as t) filled from t's values by stridedCopy. */
export function stridedTensor(backend: CpuBackend, t: TensorInfo, start: number, srcStrides: readonly number[], outShape: number[]): TensorInfo {
  const src = values<NumericArray>(backend, t);
  const out = new (src.constructor as new (n: number) => NumericArray)(outShape.reduce((a, b) => a * b, 1));
  return backend.makeTensorInfo(outShape, t.dtype, stridedCopy(src, start, srcStrides, outShape, out));
}

/** t broadcast to `outShape`: t's dims align with the trailing ones; size-1 and missing dims repeat. */
export function broadcastTo(backend: CpuBackend, t: TensorInfo, outShape: number[]): TensorInfo {
  const own = stridesOf(t.shape);
  const offset = outShape.length - t.shape.length;
  const strides = outShape.map((_, d) => (d < offset || t.shape[d - offset] === 1 ? 0 : own[d - offset]!));
  return stridedTensor(backend, t, 0, strides, outShape);
}

/** The block of t at corner `begin` of extent `size` (both already validated). */
export function sliceOf(backend: CpuBackend, t: TensorInfo, begin: readonly number[], size: number[]): TensorInfo {
  const own = stridesOf(t.shape);
  return stridedTensor(backend, t, begin.reduce((sum, b, d) => sum + b * own[d]!, 0), own, size);
}
