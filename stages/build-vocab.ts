import path from 'node:path';
import { writeFileAtomic } from '../lib/atomic-write.js';
import { readSplit } from '../lib/ml/data/dataset.js';
import { loadMlParams } from '../lib/ml/params.js';
import { buildVocab } from '../lib/ml/text/vocab.js';

/** The vocabulary comes from the training split only, so val/test words count as unseen. */
export async function run(root: string): Promise<void> {
  const params = loadMlParams(root);
  const train = readSplit(path.join(root, 'artifacts/data/train.jsonl'));
  const vocab = buildVocab(
    train.map((example) => example.tokens),
    params.vocab.min_freq,
    params.vocab.max_size,
  );
  // Written entry by entry in id order: JSON.stringify would list number-like tokens ("10") first.
  const lines = Object.entries(vocab)
    .sort(([, a], [, b]) => a - b)
    .map(([token, id]) => `  ${JSON.stringify(token)}: ${id}`);
  writeFileAtomic(path.join(root, 'artifacts/vocab.json'), `{\n${lines.join(',\n')}\n}\n`);
  process.stderr.write(`build-vocab: ${Object.keys(vocab).length} entries from ${train.length} training sentences\n`);
}
