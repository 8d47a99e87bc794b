import type { TensorInfo } from '@tensorflow/tfjs';
import { coversConv, convInfo, forEachNonZeroTap } from './conv-geometry.js';
import { type FastKernel, cpuBackend, values } from './cpu.js';

/**
 * Conv2DBackpropFilter (the filter gradient of Conv2D/conv1d), NHWC float32. The stock kernel
 * reads every element through TensorBuffer.get (an array allocation per call) in filter-major
 * order; this one walks the output rows once and accumulates x ⊗ dy over dy's non-zeros.
 */
export const conv2dBackpropFilter: FastKernel = {
  kernelName: 'Conv2DBackpropFilter',
  make: (stock, tf) => (args) => {
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const attrs = args.attrs!;
    if (!coversConv(attrs, x, dy)) return stock(args);
    const filterShape = attrs['filterShape'] as number[];
    const info = convInfo(tf, attrs, x.shape, filterShape);
    const backend = cpuBackend(args);
    const xv = values<Float32Array>(backend, x);
    const g = values<Float32Array>(backend, dy);
    const { inChannels, outChannels } = info;
    const dw = new Float32Array(filterShape.reduce((a, b) => a * b, 1));
    forEachNonZeroTap(info, g, (xOff, yOff, wOff, nz, count) => {
      for (let ci = 0; ci < inChannels; ci++) {
        const xc = xv[xOff + ci]!;
        const wRow = wOff + ci * outChannels;
        for (let k = 0; k < count; k++) {
          const co = nz[k]!;
          dw[wRow + co]! += xc * g[yOff + co]!;
        }
      }
    });
    return backend.makeTensorInfo(filterShape, 'float32', dw);
  },
};
