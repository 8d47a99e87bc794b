import path from 'node:path';
import { loadMlParams } from '../params.js';
import { ENCODER_DIR, readEncoderFolder } from './encoder-folder.js';
import { onnxRuntimeInfo, type OnnxRuntimeInfo } from './onnx-runtime.js';
import { SentenceEncoder } from './sentence-encoder.js';

export interface EncoderReport {
  onnxruntime: OnnxRuntimeInfo & { package: string };
  encoder:
    | { loaded: true; folder: string; model: string; source: string; fingerprint: string; dtype: string; dimension: number; params: number; provider: string }
    | { loaded: false; folder: string; error: string };
}

/**
 * The transformer teacher's encoder as `doctor` reports it: the project's models/encoder loaded
 * exactly as the stages load it (params.yaml's teacher.transformer), so the execution provider
 * shown is the one encoding gets.
 */
export async function encoderReport(root: string): Promise<EncoderReport> {
  const onnxruntime = { package: 'onnxruntime-node', ...onnxRuntimeInfo() };
  const folder = path.join(root, ENCODER_DIR);
  try {
    const { dir, info } = readEncoderFolder(root);
    const encoder = await SentenceEncoder.load(dir, info, loadMlParams(root).teacher.transformer, 'embedding');
    await encoder.dispose();
    return {
      onnxruntime,
      encoder: { loaded: true, folder, model: info.model!, source: info.source, fingerprint: info.fingerprint, dtype: info.dtype, dimension: encoder.dim, params: encoder.paramCount, provider: encoder.provider },
    };
  } catch (error) {
    return { onnxruntime, encoder: { loaded: false, folder, error: (error as Error).message } };
  }
}
