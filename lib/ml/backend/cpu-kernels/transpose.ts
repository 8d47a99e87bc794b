import type { TensorInfo } from '@tensorflow/tfjs';
import { type FastKernel, cpuBackend, isNumeric } from './cpu.js';
import { stridedTensor, stridesOf } from './strided.js';

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
    const own = stridesOf(x.shape);
    return stridedTensor(cpuBackend(args), x, 0, perm.map((p) => own[p]!), perm.map((p) => x.shape[p]!));
  },
};
