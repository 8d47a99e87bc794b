import path from 'node:path';
import { writeFileAtomic } from '../lib/atomic-write.js';
import { readSplit } from '../lib/ml/data/dataset.js';
import { loadMlParams } from '../lib/ml/params.js';
import { readEncoderFolder } from '../lib/ml/teacher/encoder-folder.js';
import { encoderWords } from '../lib/ml/teacher/lexicon.js';
import { buildVocab } from '../lib/ml/text/vocab.js';

/**
 * The vocabulary comes from the training split (so val/test words count as unseen), then — with
 * vocab.encoder_words — whole words of the transformer teacher's own vocabulary, which the
 * student learns from the teacher alone (generate-soft-labels labels them).
 */
export async function run(root: string): Promise<void> {
  const params = loadMlParams(root);
  const train = readSplit(path.join(root, 'artifacts/data/train.jsonl'));
  const extra = params.vocab.encoder_words > 0 ? encoderWords(readEncoderFolder(root).dir, params.text, params.vocab.encoder_words) : [];
  const vocab = buildVocab(
    train.map((example) => example.tokens),
    params.vocab.min_freq,
    params.vocab.max_size,
    extra,
  );
  // Written entry by entry in id order: JSON.stringify would list number-like tokens ("10") first.
  const lines = Object.entries(vocab)
    .sort(([, a], [, b]) => a - b)
    .map(([token, id]) => `  ${JSON.stringify(token)}: ${id}`);
  writeFileAtomic(path.join(root, 'artifacts/vocab.json'), `{\n${lines.join(',\n')}\n}\n`);
  const fromTraining = Object.keys(buildVocab(train.map((example) => example.tokens), params.vocab.min_freq, params.vocab.max_size)).length;
  process.stderr.write(
    `build-vocab: ${Object.keys(vocab).length} entries: ${fromTraining} from ${train.length} training sentences` +
      (extra.length > 0 ? `, ${Object.keys(vocab).length - fromTraining} more from the encoder's vocabulary` : '') +
      '\n',
  );
}
