/**
 * Post-training weight quantisation in the tfjs weights-manifest format (as tfjs-converter's
 * --quantize_float16 / --quantize_uint8 write it): each weight spec gets a `quantization` entry
 * and tfjs dequantises to float32 on load, so `tf.loadLayersModel` needs nothing else.
 */
export type QuantizeDtype = 'float16' | 'uint8';

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; min?: number; scale?: number };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 half-precision bits of a float32, rounding to nearest even. */
export function toFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let bits = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && bits & 1)) bits++;
    return sign | bits;
  }
  let bits = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // A carry out of the mantissa correctly rounds up into the exponent (or to infinity).
  if (rest > 0x1000 || (rest === 0x1000 && bits & 1)) bits++;
  return sign | bits;
}

/** Quantised weight bytes and the specs annotated for tfjs, from float32 weights in manifest order. */
export function quantizeWeights(specs: readonly WeightSpec[], data: Float32Array, dtype: QuantizeDtype): { specs: WeightSpec[]; data: Uint8Array } {
  const out: WeightSpec[] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const spec of specs) {
    if (spec.dtype !== 'float32') throw new RangeError(`weight ${spec.name}: only float32 weights can be quantised`);
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const values = data.subarray(offset, offset + n);
    offset += n;
    if (dtype === 'float16') {
      const bits = new Uint16Array(n);
      values.forEach((v, i) => {
        bits[i] = toFloat16Bits(v);
      });
      chunks.push(new Uint8Array(bits.buffer));
      out.push({ ...spec, quantization: { dtype: 'float16' } });
    } else {
      let min = Infinity;
      let max = -Infinity;
      for (const v of values) {
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      if (n === 0) min = max = 0;
      // Affine uint8: value ≈ min + q·scale; a constant tensor keeps scale 1 so q = 0 restores it.
      const scale = max > min ? (max - min) / 255 : 1;
      chunks.push(Uint8Array.from(values, (v) => Math.round((v - min) / scale)));
      out.push({ ...spec, quantization: { dtype: 'uint8', min, scale } });
    }
  }
  if (offset !== data.length) throw new RangeError(`weights hold ${data.length} values, the manifest describes ${offset}`);
  const total = chunks.reduce((a, c) => a + c.length, 0);
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return { specs: out, data: bytes };
}
