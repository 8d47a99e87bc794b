import type { KernelFunc } from '@tensorflow/tfjs';
import type { Tf } from '../backend.js';
import type { FastKernel } from './cpu.js';
import { broadcastBinaryKernels } from './broadcast-binary.js';
import { conv2d } from './conv2d.js';
import { conv2dBackpropFilter } from './conv2d-backprop-filter.js';
import { conv2dBackpropInput } from './conv2d-backprop-input.js';
import { gatherV2 } from './gather-v2.js';
import { batchMatMul, fusedMatMul } from './matmul.js';
import { reverse } from './reverse.js';
import { slice, splitV } from './slice.js';
import { transpose } from './transpose.js';
import { unsortedSegmentSum } from './unsorted-segment-sum.js';

/** Kernels of tfjs's pure-JS `cpu` backend replaced by faster ones (see docs/ml-training.md). */
export const FAST_CPU_KERNELS: readonly FastKernel[] = [
  unsortedSegmentSum,
  gatherV2,
  conv2d,
  conv2dBackpropFilter,
  conv2dBackpropInput,
  batchMatMul,
  fusedMatMul,
  transpose,
  slice,
  splitV,
  reverse,
  ...broadcastBinaryKernels,
];

const stockKernels = new Map<string, KernelFunc>();

/**
 * Replaces the stock `cpu` kernels listed in FAST_CPU_KERNELS (once per process; later calls do
 * nothing). The stock kernelFuncs stay reachable through `stockCpuKernel` for fallbacks and tests.
 */
export function registerFastCpuKernels(tf: Tf): void {
  for (const kernel of FAST_CPU_KERNELS) {
    if (stockKernels.has(kernel.kernelName)) continue;
    const stock = tf.getKernel(kernel.kernelName, 'cpu').kernelFunc;
    stockKernels.set(kernel.kernelName, stock);
    tf.unregisterKernel(kernel.kernelName, 'cpu');
    tf.registerKernel({ kernelName: kernel.kernelName, backendName: 'cpu', kernelFunc: kernel.make(stock, tf) });
  }
}

/** The stock kernelFunc that `registerFastCpuKernels` replaced, if it did. */
export function stockCpuKernel(kernelName: string): KernelFunc | undefined {
  return stockKernels.get(kernelName);
}
