import type { TensorInfo } from '@tensorflow/tfjs';
import { coversConv, convInfo, forEachNonZeroTap } from './conv-geometry.js';
import { type FastKernel, cpuBackend, values } from './cpu.js';

/** Conv2DBackpropInput (the input gradient of Conv2D/conv1d), NHWC float32, over dy's non-zeros. */
export const conv2dBackpropInput: FastKernel = {
  kernelName: 'Conv2DBackpropInput',
  make: (stock, tf) => (args) => {
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    const attrs = args.attrs!;
    if (!coversConv(attrs, dy, filter)) return stock(args);
    const inputShape = attrs['inputShape'] as number[];
    const info = convInfo(tf, attrs, inputShape, filter.shape);
    const backend = cpuBackend(args);
    const g = values<Float32Array>(backend, dy);
    const w = values<Float32Array>(backend, filter);
    const { inChannels, outChannels } = info;
    const dx = new Float32Array(inputShape.reduce((a, b) => a * b, 1));
    // dx[b,ih,iw,ci] += Σ_co dy[b,oh,ow,co] · w[kh,kw,ci,co]: a dot product over contiguous co.
    forEachNonZeroTap(info, g, (xOff, yOff, wOff, nz, count) => {
      for (let ci = 0; ci < inChannels; ci++) {
        const wRow = wOff + ci * outChannels;
        let sum = 0;
        for (let k = 0; k < count; k++) {
          const co = nz[k]!;
          sum += g[yOff + co]! * w[wRow + co]!;
        }
        dx[xOff + ci]! += sum;
      }
    });
    return backend.makeTensorInfo(inputShape, 'float32', dx);
  },
};
