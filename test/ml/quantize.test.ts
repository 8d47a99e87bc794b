import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { quantizeWeights, toFloat16Bits } from '../../lib/ml/export/quantize.js';

describe('toFloat16Bits', () => {
  it('encodes known half-precision values', () => {
    expect(toFloat16Bits(1)).toBe(0x3c00);
    expect(toFloat16Bits(-2)).toBe(0xc000);
    expect(toFloat16Bits(0.5)).toBe(0x3800);
    expect(toFloat16Bits(65504)).toBe(0x7bff);
    expect(toFloat16Bits(1e6)).toBe(0x7c00);
    expect(toFloat16Bits(2 ** -24)).toBe(0x0001);
  });
});

describe('quantizeWeights', () => {
  it.each(['float16', 'uint8'] as const)('%s weights load back through tfjs close to float32', async (dtype) => {
    tf.setBackend('cpu');
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4] })] });
    const input = tf.tensor2d([[0.5, -1, 2, 0.25]]);
    const expected = Array.from((model.predict(input) as tf.Tensor).dataSync());
    let quantized: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        const q = quantizeWeights(artifacts.weightSpecs as never, new Float32Array(artifacts.weightData as ArrayBuffer), dtype);
        quantized = { ...artifacts, weightSpecs: q.specs as tf.io.WeightsManifestEntry[], weightData: q.data.slice().buffer };
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    expect(quantized!.weightSpecs!.every((spec) => spec.quantization?.dtype === dtype)).toBe(true);
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(quantized!));
    const actual = Array.from((loaded.predict(input) as tf.Tensor).dataSync());
    const tolerance = dtype === 'float16' ? 1e-2 : 5e-2;
    actual.forEach((value, i) => expect(Math.abs(value - expected[i]!)).toBeLessThan(tolerance));
    expect(actual).not.toEqual(expected.map(() => 0));
  });
});
