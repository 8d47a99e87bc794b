import type * as tfTypes from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { BACKEND_ENV, loadTf } from '../../lib/ml/backend/backend.js';
import { FAST_CPU_KERNELS, stockCpuKernel } from '../../lib/ml/backend/cpu-kernels/index.js';
import { buildTeacherMember } from '../../lib/ml/models/models.js';

type Tensor = tfTypes.Tensor;
type Attrs = Record<string, unknown>;

// These tests are about the pure-JS backend, also where the native one is installed.
process.env[BACKEND_ENV] = 'cpu';
const { tf, info } = await loadTf();

/** Seeded values in [-1, 1) with about a third exact zeros (as ReLU/max-pool gradients have). */
function random(shape: number[], seed: number): Tensor {
  return tf.tidy(() => {
    const u = tf.randomUniform(shape, -1, 1, 'float32', seed);
    return u.mul(u.abs().greater(0.33).cast('float32'));
  });
}

/** The registered (fast) kernel's output and the stock kernel's, as tensors. */
function run(kernelName: string, inputs: Record<string, Tensor>, attrs: Attrs): { fast: Tensor[]; stock: Tensor[] } {
  const fast = tf.engine().runKernel(kernelName, inputs, attrs as never) as Tensor | Tensor[];
  const stock = stockCpuKernel(kernelName)!({ inputs, backend: tf.backend(), attrs: attrs as never });
  const toTensors = (out: tfTypes.TensorInfo | tfTypes.TensorInfo[]) => (Array.isArray(out) ? out : [out]).map((t) => tf.engine().makeTensorFromTensorInfo(t));
  return { fast: Array.isArray(fast) ? fast : [fast], stock: toTensors(stock) };
}

function expectClose(actual: Tensor, expected: Tensor, tolerance = 1e-5): void {
  expect(actual.shape).toEqual(expected.shape);
  expect(actual.dtype).toBe(expected.dtype);
  const a = actual.dataSync();
  const e = expected.dataSync();
  const scale = Math.max(1, ...Array.from(e, Math.abs));
  for (let i = 0; i < e.length; i++) expect(Math.abs(a[i]! - e[i]!)).toBeLessThanOrEqual(tolerance * scale);
}

function expectSame(kernelName: string, inputs: Record<string, Tensor>, attrs: Attrs = {}): void {
  const { fast, stock } = run(kernelName, inputs, attrs);
  expect(fast).toHaveLength(stock.length);
  fast.forEach((t, i) => expectClose(t, stock[i]!));
  tf.dispose([...fast, ...stock]);
}

/** Runs fn with the stock kernels registered again, then restores the fast ones. */
function withStockKernels<T>(fn: () => T): T {
  const fast = FAST_CPU_KERNELS.map((k) => tf.getKernel(k.kernelName, 'cpu'));
  const swap = (kernelName: string, kernelFunc: tfTypes.KernelFunc) => {
    tf.unregisterKernel(kernelName, 'cpu');
    tf.registerKernel({ kernelName, backendName: 'cpu', kernelFunc });
  };
  for (const k of FAST_CPU_KERNELS) swap(k.kernelName, stockCpuKernel(k.kernelName)!);
  try {
    return fn();
  } finally {
    for (const k of fast) swap(k.kernelName, k.kernelFunc);
  }
}

describe('fast cpu kernels', () => {
  it('are registered by loadTf on the pure-JS backend, with the stock ones kept', () => {
    expect(info).toMatchObject({ backend: 'cpu', kernels: 'kd-fast-cpu' });
    for (const k of FAST_CPU_KERNELS) expect(tf.getKernel(k.kernelName, 'cpu').kernelFunc).not.toBe(stockCpuKernel(k.kernelName));
  });

  it('UnsortedSegmentSum: repeated ids, ids outside [0, numSegments), 1-D to 3-D values', () => {
    const ids = tf.tensor1d([2, 0, 2, 5, -1, 2, 4], 'int32');
    expectSame('UnsortedSegmentSum', { x: random([7, 3], 1), segmentIds: ids }, { numSegments: 5 });
    expectSame('UnsortedSegmentSum', { x: random([7], 2), segmentIds: ids }, { numSegments: 3 });
    expectSame('UnsortedSegmentSum', { x: random([7, 2, 4], 3), segmentIds: ids }, { numSegments: 8 });
  });

  it('GatherV2: repeated indices, any axis, 2-D indices, int32 values, out-of-range error', () => {
    const x = random([5, 3, 4], 4);
    expectSame('GatherV2', { x, indices: tf.tensor1d([4, 0, 4, 2], 'int32') }, { axis: 0, batchDims: 0 });
    expectSame('GatherV2', { x, indices: tf.tensor2d([[2, 1], [0, 2]], undefined, 'int32') }, { axis: 1, batchDims: 0 });
    expectSame('GatherV2', { x: tf.range(0, 12, 1, 'int32').reshape([3, 4]), indices: tf.tensor1d([3, 3, 0], 'int32') }, { axis: -1, batchDims: 0 });
    expect(() => tf.gather(x, tf.tensor1d([5], 'int32'))).toThrow(/not in \[0, 4\]/);
  });

  // [x shape, filter shape, strides, pad, dilations]; 11 input channels exercise the 8-row unrolled loop and its remainder.
  const convCases: [number[], number[], [number, number], unknown, [number, number]][] = [
    [[2, 1, 9, 11], [1, 3, 11, 7], [1, 1], 'same', [1, 1]],
    [[2, 1, 9, 11], [1, 4, 11, 7], [1, 2], 'valid', [1, 1]],
    [[2, 6, 7, 3], [3, 2, 3, 4], [2, 1], 'same', [1, 1]],
    [[1, 5, 8, 16], [2, 3, 16, 5], [1, 3], 1, [1, 1]],
    [[2, 5, 6, 3], [2, 2, 3, 4], [1, 1], [[0, 0], [1, 0], [2, 1], [0, 0]], [1, 1]],
  ];

  it('Conv2D: conv1d and 2-D shapes, strides, same/valid/numeric/explicit padding, dilations, NCHW fallback', () => {
    convCases.forEach(([xs, fs, strides, pad, dilations], i) =>
      expectSame('Conv2D', { x: random(xs, 10 + i), filter: random(fs, 20 + i) }, { strides, pad, dataFormat: 'NHWC', dilations, dimRoundingMode: 'floor' }),
    );
    expectSame('Conv2D', { x: random([2, 1, 12, 9], 30), filter: random([1, 3, 9, 4], 31) }, { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dilations: [1, 2] });
    expectSame('Conv2D', { x: random([2, 3, 5, 6], 32), filter: random([2, 2, 3, 4], 33) }, { strides: [1, 1], pad: 'valid', dataFormat: 'NCHW', dilations: [1, 1] });
  });

  it('Conv2DBackpropFilter and Conv2DBackpropInput: the same geometries, sparse dy', () => {
    convCases.forEach(([xs, fs, strides, pad], i) => {
      const x = random(xs, 40 + i);
      const filter = random(fs, 50 + i);
      const dy = random(tf.backend_util.computeConv2DInfo(xs as never, fs as never, strides, 1, pad as 'same', 'floor').outShape, 60 + i);
      const attrs = { strides, pad, dataFormat: 'NHWC', dimRoundingMode: 'floor' };
      expectSame('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: fs });
      expectSame('Conv2DBackpropInput', { dy, filter }, { ...attrs, inputShape: xs });
    });
  });

  it('BatchMatMul and _FusedMatMul: transposes, broadcast batch dims, bias, activation fallback', () => {
    for (const [transposeA, transposeB] of [[false, false], [true, false], [false, true], [true, true]]) {
      const a = random(transposeA ? [2, 9, 3] : [2, 3, 9], 70);
      const b = random(transposeB ? [5, 9] : [9, 5], 71);
      expectSame('BatchMatMul', { a, b }, { transposeA, transposeB });
    }
    expectSame('BatchMatMul', { a: random([2, 1, 3, 4], 72), b: random([3, 4, 6], 73) }, { transposeA: false, transposeB: false });
    expectSame('BatchMatMul', { a: tf.tensor2d([[1, 2], [3, 4]], undefined, 'int32'), b: tf.tensor2d([[5], [6]], undefined, 'int32') }, { transposeA: false, transposeB: false });
    const [a, b, bias] = [random([4, 10], 74), random([10, 6], 75), random([6], 76)];
    expectSame('_FusedMatMul', { a, b, bias }, { transposeA: false, transposeB: false, activation: 'linear' });
    expectSame('_FusedMatMul', { a, b: random([6, 10], 77) }, { transposeA: false, transposeB: true });
    expectSame('_FusedMatMul', { a, b, bias }, { transposeA: false, transposeB: false, activation: 'relu' });
  });

  it('Transpose, Slice, SplitV and Reverse on float32, int32 and bool tensors', () => {
    const x = random([3, 4, 5], 80);
    const ints = tf.range(0, 60, 1, 'int32').reshape([3, 4, 5]);
    for (const t of [x, ints, x.greater(0)]) {
      expectSame('Transpose', { x: t }, { perm: [2, 0, 1] });
      expectSame('Transpose', { x: t }, { perm: [0, 2, 1] });
      expectSame('Slice', { x: t }, { begin: [1, 0, 2], size: [2, -1, 2] });
      expectSame('Slice', { x: t }, { begin: [0, 1, 0], size: [3, 1, 5] });
      expectSame('SplitV', { x: t }, { numOrSizeSplits: [3, 2], axis: 2 });
      expectSame('SplitV', { x: t }, { numOrSizeSplits: 2, axis: -2 });
      expectSame('Reverse', { x: t }, { dims: [1] });
      expectSame('Reverse', { x: t }, { dims: [0, 2] });
    }
  });

  it('binary ops: same shapes, scalars, trailing and size-1 broadcasting on either side, int32 and bool results', () => {
    const pairs: [number[], number[]][] = [[[3, 4], [3, 4]], [[3, 4], []], [[], [3, 4]], [[4], [2, 3, 4]], [[3, 1, 4], [3, 5, 4]], [[2, 1], [1, 3]], [[2, 3, 1], [4]], [[1], [2, 2]]];
    pairs.forEach(([as, bs], i) => {
      for (const kernel of ['Add', 'Sub', 'Multiply', 'RealDiv', 'Maximum', 'Minimum', 'Equal']) {
        const b = kernel === 'RealDiv' ? random(bs, 91 + i).add(3) : random(bs, 91 + i);
        expectSame(kernel, { a: random(as, 90 + i), b });
      }
    });
    expectSame('Add', { a: tf.tensor2d([[1], [2]], undefined, 'int32'), b: tf.tensor2d([[10, 20, 30]], undefined, 'int32') });
  });

  it('a training step of small CNN and BiLSTM teachers has the stock gradients', () => {
    const shape = { vocabSize: 30, maxLen: 10, numClasses: 3, seed: 7 };
    const params = { members: ['cnn' as const], embedding_dim: 12, cnn: { filters: 10, kernel_sizes: [2, 3] }, bilstm: { units: 5 }, hidden: 8, dropout: 0, train: { epochs: 1, batch_size: 4, learning_rate: 0.01, warmup_epochs: 0, decay: 'none' as const, patience: 1 } };
    const ids = tf.tensor2d([[2, 5, 5, 9, 0, 0, 0, 0, 0, 0], [29, 3, 3, 3, 1, 7, 8, 0, 0, 0], [4, 4, 4, 4, 4, 4, 4, 4, 4, 4], [1, 0, 0, 0, 0, 0, 0, 0, 0, 0]], undefined, 'int32');
    const labels = tf.oneHot(tf.tensor1d([0, 2, 1, 2], 'int32'), 3);
    for (const kind of ['cnn', 'bilstm'] as const) {
      const model = buildTeacherMember(tf, kind, params, shape);
      const grads = () => tf.variableGrads(() => tf.losses.softmaxCrossEntropy(labels, model.apply(ids, { training: true }) as Tensor) as tfTypes.Scalar);
      const fast = grads();
      const stock = withStockKernels(grads);
      expectClose(fast.value, stock.value);
      expect(Object.keys(fast.grads).sort()).toEqual(Object.keys(stock.grads).sort());
      for (const name of Object.keys(stock.grads)) expectClose(fast.grads[name]!, stock.grads[name]!, 1e-4);
      model.dispose();
    }
  });
});
