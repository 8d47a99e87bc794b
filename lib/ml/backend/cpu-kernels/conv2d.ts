import type { TensorInfo } from '@tensorflow/tfjs';
import { coversConv, convInfo, forEachTap } from './conv-geometry.js';
import { type FastKernel, cpuBackend, values } from './cpu.js';
import { addRowTimesMatrix } from './gemm.js';

/** Conv2D (also tf.conv1d, which is Conv2D with height 1), NHWC float32, any strides/padding/dilations. */
export const conv2d: FastKernel = {
  kernelName: 'Conv2D',
  make: (stock, tf) => (args) => {
    const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
    const attrs = args.attrs!;
    if (!coversConv(attrs, x, filter)) return stock(args);
    const info = convInfo(tf, attrs, x.shape, filter.shape, attrs['dilations'] as [number, number]);
    const backend = cpuBackend(args);
    const xv = values<Float32Array>(backend, x);
    const w = values<Float32Array>(backend, filter);
    const { inChannels, outChannels } = info;
    const y = new Float32Array(info.outShape.reduce((a, b) => a * b, 1));
    // Each tap adds x[b,ih,iw,:] · w[kh,kw,:,:] (inChannels × outChannels) to y[b,oh,ow,:].
    forEachTap(info, (xOff, yOff, wOff) => addRowTimesMatrix(y, yOff, xv, xOff, inChannels, w, wOff, outChannels));
    return backend.makeTensorInfo(info.outShape, 'float32', y);
  },
};
