import type { TensorInfo } from '@tensorflow/tfjs';
import { type FastKernel, type NumericArray, cpuBackend, isNumeric, values } from './cpu.js';

/**
 * GatherV2 (the embedding lookup) with batchDims 0 as one block copy per index. The stock kernel
 * converts every output index to coordinates and back with array allocations. Other batchDims
 * and complex64/string go to the stock kernel, and so do out-of-range indices (its error).
 */
export const gatherV2: FastKernel = {
  kernelName: 'GatherV2',
  make: (stock, tf) => (args) => {
    const { x, indices } = args.inputs as { x: TensorInfo; indices: TensorInfo };
    if (!isNumeric(x) || (args.attrs!['batchDims'] ?? 0) !== 0) return stock(args);
    const axis = tf.util.parseAxisParam(args.attrs!['axis'] as number, x.shape)[0]!;
    const backend = cpuBackend(args);
    const ids = values<Int32Array>(backend, indices);
    const dim = x.shape[axis]!;
    if (ids.some((i) => i < 0 || i >= dim)) return stock(args);
    const src = values<NumericArray>(backend, x);
    // x as [outer, dim, inner]: out[o, j, :] = x[o, ids[j], :].
    const inner = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const outer = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
    const out = new (src.constructor as new (n: number) => NumericArray)(outer * ids.length * inner);
    for (let o = 0, k = 0; o < outer; o++) {
      for (let j = 0; j < ids.length; j++, k += inner) {
        const from = (o * dim + ids[j]!) * inner;
        out.set(src.subarray(from, from + inner), k);
      }
    }
    return backend.makeTensorInfo([...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)], x.dtype, out);
  },
};
