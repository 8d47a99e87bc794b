/**
 * Symmetric int8 weights (zero point 0, values in −127…127), value ≈ q · scale as ONNX's
 * DequantizeLinear computes it: one scale per index of `axis` (a per-output-channel scale costs a
 * few floats and keeps small channels precise), or one for the whole tensor (`axis` null: an
 * embedding table, whose rows a scale each would cost half its int8 size).
 */
export function quantizeInt8(values: Float32Array, dims: readonly number[], axis: number | null): { values: Int8Array; scales: Float32Array } {
  const channels = axis === null ? 1 : dims[axis]!;
  // Elements between two consecutive indices of `axis` (row-major): index = floor(i / inner) % channels.
  const inner = axis === null ? values.length : dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channelOf = (i: number) => (axis === null ? 0 : Math.floor(i / inner) % channels);
  const maxAbs = new Float32Array(channels);
  values.forEach((v, i) => {
    const c = channelOf(i);
    maxAbs[c] = Math.max(maxAbs[c]!, Math.abs(v));
  });
  // A channel of zeros keeps scale 1 so q = 0 restores it.
  const scales = maxAbs.map((m) => (m > 0 ? m / 127 : 1));
  return { values: Int8Array.from(values, (v, i) => Math.max(-127, Math.min(127, Math.round(v / scales[channelOf(i)]!)))), scales };
}
