import { KdError } from '../errors.js';
import { type InputEncoder, pieceEncoder, wordEncoder } from '../ml/text/student-input.js';
import type { ExportBundle } from './export-bundle.js';

/** How an export reads a text: its tokenizer.json (a student over pieces) or its vocab.json and preprocessing.json. */
export function exportEncoder(bundle: Pick<ExportBundle, 'dir' | 'tokenizer' | 'vocab' | 'preprocessing'>): InputEncoder {
  const { lowercase, strip_accents, max_len: maxLen } = bundle.preprocessing;
  if (!bundle.tokenizer) return wordEncoder(bundle.vocab, { lowercase, strip_accents }, maxLen);
  try {
    return pieceEncoder(bundle.tokenizer.json, bundle.tokenizer.config);
  } catch (error) {
    throw new KdError(`${bundle.dir}/tokenizer.json: cannot be read as a tokenizer (${(error as Error).message})`);
  }
}
