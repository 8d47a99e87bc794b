import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

export interface OnnxRuntimeInfo {
  version: string;
  /** Execution providers whose libraries are installed: cpu always; cuda when onnxruntime-node's CUDA libraries are there. */
  providers: string[];
}

/**
 * What onnxruntime-node (the runtime transformers.js uses in Node) can run on here. Its CPU
 * binaries ship inside the npm package; the CUDA provider's libraries are downloaded by its
 * install script (skipped by this project's .npmrc, see docs/transformer-teacher.md), so cuda is
 * listed only when that library is present — asking ONNX Runtime for a missing provider prints an
 * error on every session.
 */
export function onnxRuntimeInfo(): OnnxRuntimeInfo {
  const pkg = require.resolve('onnxruntime-node/package.json');
  const { version } = JSON.parse(readFileSync(pkg, 'utf8')) as { version: string };
  const bin = path.join(path.dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
  const providers = ['cpu'];
  if (existsSync(path.join(bin, 'libonnxruntime_providers_cuda.so'))) providers.unshift('cuda');
  return { version, providers };
}
