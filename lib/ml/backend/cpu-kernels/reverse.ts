import type { TensorInfo } from '@tensorflow/tfjs';
import { type FastKernel, cpuBackend, isNumeric } from './cpu.js';
import { stridedTensor, stridesOf } from './strided.js';

/**
 * Reverse (the input of a bidirectional RNN's backward direction) as a strided copy with negative
 * strides; the stock kernel reads and writes through TensorBuffer per element, like Slice.
 */
export const reverse: FastKernel = {
  kernelName: 'Reverse',
  make: (stock, tf) => (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    if (!isNumeric(x)) return stock(args);
    const dims = new Set(tf.util.parseAxisParam(args.attrs!['dims'] as number[], x.shape));
    const own = stridesOf(x.shape);
    const start = x.shape.reduce((sum, d, i) => sum + (dims.has(i) ? (d - 1) * own[i]! : 0), 0);
    return stridedTensor(cpuBackend(args), x, start, own.map((s, i) => (dims.has(i) ? -s : s)), x.shape);
  },
};
