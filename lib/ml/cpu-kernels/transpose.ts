import type { TensorInfo } from '@tensorflow/tfjs';
import { type FastKernel, type NumericArray, cpuBackend, isNumeric, values } from './cpu.js';
import { stridedCopy, stridesOf } from './strided.js';

/**
 * Transpose as one strided copy. The stock kernel converts every index to coordinates and back
 * (allocating arrays per element); Sum and Max over a non-innermost axis transpose first, so it
 * runs in the bias gradient and in global max pooling. complex64/string go to the stock kernel.
 */
export const transpose: FastKernel = {
  kernelName: 'Transpose',
  make: (stock) => (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    if (!isNumeric(x)) return stock(args);
    const perm = args.attrs!['perm'] as number[];
    const backend = cpuBackend(args);
    const src = values<NumericArray>(backend, x);
    const own = stridesOf(x.shape);
    const outShape = perm.map((p) => x.shape[p]!);
    const out = new (src.constructor as new (n: number) => NumericArray)(src.length);
    return backend.makeTensorInfo(outShape, x.dtype, stridedCopy(src, perm.map((p) => own[p]!), outShape, out));
  },
};
