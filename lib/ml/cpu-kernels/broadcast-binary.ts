import type { TensorInfo } from '@tensorflow/tfjs';
import { type FastKernel, cpuBackend, isNumeric } from './cpu.js';
import { broadcastTo } from './strided.js';

/**
 * Element-wise binary kernels whose operands repeat along a size-1 dimension (the Max gradient's
 * equal/multiply of [b, t, c] against the pooled [b, 1, c], …). For those the stock kernels
 * convert every output index to coordinates and back, allocating arrays per element. Here such
 * an operand is first expanded to the output shape by a strided copy, then the stock kernel runs
 * its plain loop, so the arithmetic, dtype rules and errors stay exactly the stock ones. Operands
 * that only lack leading dimensions (a bias [c] against [b, t, c], a scalar) already take the
 * stock plain loop and go straight to it.
 */
function broadcastBinary(kernelName: string): FastKernel {
  return {
    kernelName,
    make: (stock, tf) => (args) => {
      const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
      if (!isNumeric(a) || !isNumeric(b)) return stock(args);
      const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
      const repeats = (t: TensorInfo) => t.shape.some((d, i) => d === 1 && outShape[i + outShape.length - t.shape.length]! > 1);
      if (!repeats(a) && !repeats(b)) return stock(args);
      const backend = cpuBackend(args);
      const inputs = { a: repeats(a) ? broadcastTo(backend, a, outShape) : a, b: repeats(b) ? broadcastTo(backend, b, outShape) : b };
      try {
        return stock({ ...args, inputs });
      } finally {
        for (const t of [inputs.a, inputs.b]) if (t !== a && t !== b) backend.disposeIntermediateTensorInfo(t);
      }
    },
  };
}

/** The broadcasting binary ops of a training step (forward, gradients and Adam). */
export const broadcastBinaryKernels: FastKernel[] = ['Add', 'Sub', 'Multiply', 'RealDiv', 'Equal', 'Maximum', 'Minimum'].map(broadcastBinary);
