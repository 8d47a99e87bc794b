import type { FloatModel } from '../../models/layers-files.js';
import type { TextOptions } from '../../text/text.js';
import { studentToOnnx, type OnnxPrecision } from './student-onnx.js';
import { WORD_TOKENIZER_LIMITS, wordTokenizerJson } from './word-tokenizer.js';

/** The export's ONNX folder and its files (read by `predict`/`serve --runtime onnx` and other runtimes). */
export const ONNX_DIR = 'onnx';
export const ONNX_FILES: Record<OnnxPrecision, string> = { float32: 'model.onnx', int8: 'model.int8.onnx' };
export const ONNX_TOKENIZER_FILE = 'tokenizer.json';
/** The names the metadata, the report and the model card give the ONNX variants. */
export const onnxVariantName = (precision: OnnxPrecision) => `onnx_${precision}`;

/** What the student reads, for the tokenizer.json beside the ONNX files. */
export type StudentTokenizer = { kind: 'pieces'; tokenizerJson: string } | { kind: 'words'; vocab: Readonly<Record<string, number>>; options: TextOptions; maxLen: number };

/** Both ONNX files of the student (labels and input description in their metadata_props); throws UnsupportedLayerError. */
export function onnxModels(student: FloatModel, labels: readonly string[], info: { producerVersion: string; tokenizer: StudentTokenizer['kind'] }): Record<OnnxPrecision, Uint8Array> {
  const metadata = {
    labels: JSON.stringify(labels),
    tokenizer: `${ONNX_TOKENIZER_FILE} beside this file (${info.tokenizer}): encode without special tokens; pad a batch with id 0`,
  };
  const convert = (precision: OnnxPrecision) => studentToOnnx(student, precision, { classes: labels.length, producerVersion: info.producerVersion, metadata: { ...metadata, precision } });
  return { float32: convert('float32'), int8: convert('int8') };
}

/** tokenizer.json for other runtimes, and what it cannot express (null when it is exact). */
export function onnxTokenizer(tokenizer: StudentTokenizer): { json: string; limits: string | null } {
  if (tokenizer.kind === 'pieces') return { json: tokenizer.tokenizerJson, limits: null };
  return { json: `${JSON.stringify(wordTokenizerJson(tokenizer.vocab, tokenizer.options, tokenizer.maxLen))}\n`, limits: WORD_TOKENIZER_LIMITS };
}
