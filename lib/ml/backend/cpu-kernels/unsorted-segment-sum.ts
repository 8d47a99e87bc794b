import type { TensorInfo } from '@tensorflow/tfjs';
import { type FastKernel, cpuBackend, values } from './cpu.js';

/**
 * UnsortedSegmentSum as one scatter-add over the segment ids. The stock kernel loops over all
 * `numSegments` (equal + cast + multiply + sum over the whole input per segment), and the
 * gradient of an embedding lookup (Gather) is this op with numSegments = the vocabulary size, so
 * a training step cost vocab × batch × max_len × dim. Ids outside [0, numSegments) are dropped,
 * as by the stock kernel. Non-float32 inputs go to the stock kernel (it returns float32 for them).
 */
export const unsortedSegmentSum: FastKernel = {
  kernelName: 'UnsortedSegmentSum',
  make: (stock) => (args) => {
    const { x, segmentIds } = args.inputs as { x: TensorInfo; segmentIds: TensorInfo };
    if (x.dtype !== 'float32') return stock(args);
    const numSegments = args.attrs!['numSegments'] as number;
    const backend = cpuBackend(args);
    const xv = values<Float32Array>(backend, x);
    const ids = values<Int32Array>(backend, segmentIds);
    // segmentIds' shape is a prefix of x's: each id owns a contiguous run of `inner` values.
    const inner = ids.length === 0 ? 0 : xv.length / ids.length;
    const out = new Float32Array(numSegments * inner);
    for (let i = 0; i < ids.length; i++) {
      const s = ids[i]!;
      if (s < 0 || s >= numSegments) continue;
      const src = i * inner;
      const dst = s * inner;
      for (let j = 0; j < inner; j++) out[dst + j]! += xv[src + j]!;
    }
    return backend.makeTensorInfo([numSegments, ...x.shape.slice(segmentIds.shape.length)], 'float32', out);
  },
};
