import type { backend_util, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import type { Tf } from '../backend.js';

export type ConvInfo = backend_util.Conv2DInfo;

/**
 * The fast conv kernels cover float32 NHWC tensors, the layout of tf.conv1d/conv2d and of every
 * tfjs-layers conv; NCHW and other dtypes go to the stock kernels.
 */
export function coversConv(attrs: NamedAttrMap, ...tensors: TensorInfo[]): boolean {
  return attrs['dataFormat'] !== 'NCHW' && tensors.every((t) => t.dtype === 'float32');
}

/** Output shape, padding, strides and dilations as the stock kernels compute them. */
export function convInfo(tf: Tf, attrs: NamedAttrMap, inShape: number[], filterShape: number[], dilations: number | [number, number] = 1): ConvInfo {
  return tf.backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs['strides'] as [number, number],
    dilations,
    attrs['pad'] as 'same' | 'valid' | number,
    attrs['dimRoundingMode'] as 'floor' | 'round' | 'ceil' | undefined,
    false,
    'channelsLast',
  );
}

/**
 * Calls `visit` for every (output position, filter tap) pair whose input position lies inside
 * the input (padding contributes nothing), with the flat offsets of the input row x[b, ih, iw, :],
 * the output row y[b, oh, ow, :] and the filter block w[kh, kw, :, :]. Visits are ordered by
 * output position, so the taps of one output row are consecutive.
 */
export function forEachTap(info: ConvInfo, visit: (xOff: number, yOff: number, wOff: number) => void): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth } = info;
  const { strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const { top, left } = info.padInfo;
  const tapSize = inChannels * outChannels;
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++) {
        const yOff = ((b * outHeight + oh) * outWidth + ow) * outChannels;
        for (let kh = 0; kh < filterHeight; kh++) {
          const ih = oh * strideHeight - top + kh * dilationHeight;
          if (ih < 0 || ih >= inHeight) continue;
          for (let kw = 0; kw < filterWidth; kw++) {
            const iw = ow * strideWidth - left + kw * dilationWidth;
            if (iw < 0 || iw >= inWidth) continue;
            visit(((b * inHeight + ih) * inWidth + iw) * inChannels, yOff, (kh * filterWidth + kw) * tapSize);
          }
        }
      }
    }
  }
}

/**
 * Indices of the non-zero entries of row v[off, off + n) into `nz`; returns their count. Conv
 * gradients are mostly zeros (ReLU, then global max pooling keeps one position per channel), so
 * the backward kernels skip them. Skipping a zero gradient changes nothing, except that a NaN or
 * Infinity in the other operand is not spread into the result by 0 × NaN.
 */
function nonZeros(v: Float32Array, off: number, n: number, nz: Int32Array): number {
  let count = 0;
  for (let i = 0; i < n; i++) if (v[off + i] !== 0) nz[count++] = i;
  return count;
}

/**
 * forEachTap for the backward kernels: visits only taps whose output row of dy has non-zeros,
 * passing those channels (`nz[0..count)`), computed once per output row.
 */
export function forEachNonZeroTap(
  info: ConvInfo,
  dy: Float32Array,
  visit: (xOff: number, yOff: number, wOff: number, nz: Int32Array, count: number) => void,
): void {
  const nz = new Int32Array(info.outChannels);
  let row = -1;
  let count = 0;
  forEachTap(info, (xOff, yOff, wOff) => {
    if (yOff !== row) {
      row = yOff;
      count = nonZeros(dy, yOff, info.outChannels, nz);
    }
    if (count > 0) visit(xOff, yOff, wOff, nz, count);
  });
}
