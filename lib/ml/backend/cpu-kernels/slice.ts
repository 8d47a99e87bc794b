import type { TensorInfo } from '@tensorflow/tfjs';
import { type FastKernel, cpuBackend, isNumeric } from './cpu.js';
import { sliceOf } from './strided.js';

/**
 * Slice and SplitV as strided copies. The stock kernels go through TensorBuffer.get/set with
 * spread coordinate arrays per element whenever the block is not contiguous, which an LSTM hits
 * at every time step (x[:, t, :], the split of [batch, 4·units] into gates). complex64/string go
 * to the stock kernels.
 */
export const slice: FastKernel = {
  kernelName: 'Slice',
  make: (stock, tf) => (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    if (!isNumeric(x)) return stock(args);
    const [begin, size] = tf.slice_util.parseSliceParams(x as never, args.attrs!['begin'] as number[], args.attrs!['size'] as number[]) as [number[], number[]];
    tf.slice_util.assertParamsValid(x as never, begin, size);
    return sliceOf(cpuBackend(args), x, begin, size);
  },
};

export const splitV: FastKernel = {
  kernelName: 'SplitV',
  make: (stock, tf) => (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    if (!isNumeric(x)) return stock(args);
    const axis = tf.util.parseAxisParam(args.attrs!['axis'] as number, x.shape)[0]!;
    const sizes = tf.backend_util.prepareSplitSize(x as never, args.attrs!['numOrSizeSplits'] as number[], axis);
    const begin = x.shape.map(() => 0);
    return sizes.map((s) => {
      const piece = sliceOf(cpuBackend(args), x, begin, x.shape.map((d, i) => (i === axis ? s : d)));
      begin[axis]! += s;
      return piece;
    });
  },
};
