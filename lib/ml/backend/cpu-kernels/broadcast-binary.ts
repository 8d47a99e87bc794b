import type { TensorInfo } from '@tensorflow/tfjs';
import { type FastKernel, cpuBackend, isNumeric, values } from './cpu.js';
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
function broadcastBinary(kernelName: string, arithmetic?: (x: number, y: number) => number): FastKernel {
  return {
    kernelName,
    make: (stock, tf) => (args) => {
      const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
      if (!isNumeric(a) || !isNumeric(b)) return stock(args);
      const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
      const repeats = (t: TensorInfo) => t.shape.some((d, i) => d === 1 && outShape[i + outShape.length - t.shape.length]! > 1);
      const float = arithmetic !== undefined && a.dtype === 'float32' && b.dtype === 'float32';
      if (!float && !repeats(a) && !repeats(b)) return stock(args);
      const backend = cpuBackend(args);
      const inputs = { a: repeats(a) ? broadcastTo(backend, a, outShape) : a, b: repeats(b) ? broadcastTo(backend, b, outShape) : b };
      try {
        if (!float) return stock({ ...args, inputs });
        const out = elementwise(arithmetic, values<Float32Array>(backend, inputs.a), values<Float32Array>(backend, inputs.b), outShape.reduce((x, y) => x * y, 1));
        return backend.makeTensorInfo(outShape, 'float32', out);
      } finally {
        for (const t of [inputs.a, inputs.b]) if (t !== a && t !== b) backend.disposeIntermediateTensorInfo(t);
      }
    },
  };
}

/**
 * op over float32 operands that are either n long or repeat to n from the end (a bias, a
 * scalar). The stock loop computes `i % length` for both operands and calls its op through a
 * call site shared by all ~20 binary kernels, which V8 cannot inline; here the four arithmetic
 * ops share one site that stays inlinable, and the common cases skip the modulo.
 */
function elementwise(op: (x: number, y: number) => number, a: Float32Array, b: Float32Array, n: number): Float32Array {
  const out = new Float32Array(n);
  if (a.length === n && b.length === n) for (let i = 0; i < n; i++) out[i] = op(a[i]!, b[i]!);
  else if (b.length === 1) for (let i = 0, y = b[0]!; i < n; i++) out[i] = op(a[i]!, y);
  else if (a.length === 1) for (let i = 0, x = a[0]!; i < n; i++) out[i] = op(x, b[i]!);
  else for (let i = 0; i < n; i++) out[i] = op(a[i % a.length]!, b[i % b.length]!);
  return out;
}

/** The binary ops of a training step (forward, gradients and Adam). */
export const broadcastBinaryKernels: FastKernel[] = [
  broadcastBinary('Add', (x, y) => x + y),
  broadcastBinary('Sub', (x, y) => x - y),
  broadcastBinary('Multiply', (x, y) => x * y),
  broadcastBinary('RealDiv', (x, y) => x / y),
  ...['Equal', 'Maximum', 'Minimum'].map((name) => broadcastBinary(name)),
];
