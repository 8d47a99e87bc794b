import ort from 'onnxruntime-node';
import type { Classifier } from '../../models/model-io.js';
import { padRows, type InputEncoder } from '../../text/student-input.js';
import { ONNX_INPUT, ONNX_OUTPUT } from './student-onnx.js';

/** How evaluate and the model card name where an ONNX variant's latency was measured. */
export const ONNX_RUNTIME = 'onnxruntime-node';

/** A session over an exported ONNX student: ids rows in, logits rows out (rows padded with id 0 to the longest). */
export interface OnnxStudent {
  logits(rows: readonly Int32Array[]): Promise<Float32Array[]>;
  release(): Promise<void>;
}

export async function onnxStudent(bytes: Uint8Array): Promise<OnnxStudent> {
  // One intra-op thread: a student's operators are too small for a thread pool to pay, and the server batches requests itself.
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  return {
    async logits(rows) {
      const { ids, width } = padRows(rows, null);
      const input = new ort.Tensor('int64', BigInt64Array.from(ids, (id) => BigInt(id)), [rows.length, width]);
      const output = (await session.run({ [ONNX_INPUT]: input }))[ONNX_OUTPUT]!;
      const data = output.data as Float32Array;
      const classes = output.dims[1]!;
      return rows.map((_, row) => data.slice(row * classes, (row + 1) * classes));
    },
    release: () => session.release(),
  };
}

/** An ONNX student as a Classifier, scored and timed by the same code as the tfjs models. */
export async function onnxClassifier(bytes: Uint8Array, encoder: InputEncoder, paramCount: number): Promise<Classifier> {
  const student = await onnxStudent(bytes);
  return {
    async predictLogits(inputs) {
      return (await student.logits(inputs.map((input) => encoder.ids(input.text, input.tokens)))).map((row) => Array.from(row));
    },
    paramCount,
    sizeBytes: bytes.byteLength,
    runtime: ONNX_RUNTIME,
    dispose: () => student.release(),
  };
}
