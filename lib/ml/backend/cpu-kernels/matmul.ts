import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { Tf } from '../backend.js';
import { type CpuBackend, type FastKernel, type KernelArgs, cpuBackend, values } from './cpu.js';
import { addRowTimesMatrix } from './gemm.js';
import { stridedTensor } from './strided.js';

/** t ([..., r, c]) as a contiguous [batch, c, r] tensor when `transposed`, else t itself. */
function rowMajor(backend: CpuBackend, t: TensorInfo, transposed: boolean): TensorInfo {
  if (!transposed) return t;
  const [r, c] = t.shape.slice(-2) as [number, number];
  const batch = t.shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return stridedTensor(backend, t, 0, [r * c, 1, c], [batch, c, r]);
}

/**
 * a · b for float32 [..., m, k] · [..., k, n] with broadcast batch dims (transposed operands are
 * first copied to row-major), or undefined where the stock kernel must decide (other dtypes,
 * mismatched inner dims: its error message).
 */
function matMul(tf: Tf, args: KernelArgs): TensorInfo | undefined {
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  const transposeA = args.attrs!['transposeA'] === true;
  const transposeB = args.attrs!['transposeB'] === true;
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  const [m, k] = transposeA ? [ac, ar] : [ar, ac];
  const [k2, n] = transposeB ? [bc, br] : [br, bc];
  if (k !== k2) return undefined;
  const outer = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = outer.reduce((x, y) => x * y, 1);
  const backend = cpuBackend(args);
  const a2 = rowMajor(backend, a, transposeA);
  const b2 = rowMajor(backend, b, transposeB);
  const av = values<Float32Array>(backend, a2);
  const bv = values<Float32Array>(backend, b2);
  const batchA = av.length / (m * k);
  const batchB = bv.length / (k * n);
  const out = new Float32Array(batch * m * n);
  // Like the stock kernel, batch i uses a's batch i % batchA and b's i % batchB.
  for (let i = 0; i < batch; i++) {
    const aOff = (i % batchA) * m * k;
    const bOff = (i % batchB) * k * n;
    for (let row = 0; row < m; row++) addRowTimesMatrix(out, (i * m + row) * n, av, aOff + row * k, k, bv, bOff, n);
  }
  for (const t of [a2, b2]) if (t !== a && t !== b) backend.disposeIntermediateTensorInfo(t);
  return backend.makeTensorInfo([...outer, m, n], 'float32', out);
}

/** BatchMatMul (MatMul, and the gradients of every matMul, e.g. an LSTM's). */
export const batchMatMul: FastKernel = {
  kernelName: 'BatchMatMul',
  make: (stock, tf) => (args) => matMul(tf, args) ?? stock(args),
};

/**
 * _FusedMatMul (tfjs-layers' Dense and LSTM forward products) without an activation (or
 * 'linear'): the product, then the bias through the registered Add kernel. With another
 * activation or PReLU weights the stock kernel runs.
 */
export const fusedMatMul: FastKernel = {
  kernelName: '_FusedMatMul',
  make: (stock: KernelFunc, tf) => (args) => {
    const { bias, preluActivationWeights } = args.inputs as { bias?: TensorInfo; preluActivationWeights?: TensorInfo };
    const activation = args.attrs!['activation'];
    if (preluActivationWeights || (activation !== undefined && activation !== null && activation !== 'linear')) return stock(args);
    const product = matMul(tf, args);
    if (!product || !bias) return product ?? stock(args);
    const add = tf.getKernel('Add', 'cpu').kernelFunc;
    const sum = add({ inputs: { a: product, b: bias }, backend: args.backend, attrs: {} }) as TensorInfo;
    cpuBackend(args).disposeIntermediateTensorInfo(product);
    return sum;
  },
};
