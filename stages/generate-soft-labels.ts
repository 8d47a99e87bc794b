import path from 'node:path';
import { reportStageTag } from '../lib/pipeline/stage-tags.js';
import { augmentAll } from '../lib/ml/text/augment.js';
import { loadTf } from '../lib/ml/backend/backend.js';
import { loadClassifier, modelDirs } from '../lib/ml/models/model-io.js';
import { loadMlParams } from '../lib/ml/params.js';
import { SOFT_LABELS_DIR, type TransferRow, writeTransferSet } from '../lib/ml/train/soft-labels.js';
import { encodeIds, readTrainingInputs } from '../lib/ml/data/train-data.js';

// Rows per teacher forward pass: bounds memory for large transfer sets.
const BATCH = 256;

/**
 * Teacher logits for every training sentence and for `soft_labels.augment.copies` augmented copies
 * of each (Tang et al. 2019), the transfer set train-student learns from.
 */
export async function run(root: string): Promise<void> {
  const params = loadMlParams(root);
  const { tf, info } = await loadTf();
  reportStageTag('kd.backend', info.backend);
  const inputs = readTrainingInputs(root);
  const teacherDir = path.join(root, 'artifacts/teacher');
  const teacher = await loadClassifier(teacherDir);

  const original = inputs.train.map((example) => example.tokens);
  const augmented = augmentAll(original, params.soft_labels.augment, params.seed);
  const sentences = [...original, ...augmented];
  const logits: number[][] = [];
  for (let start = 0; start < sentences.length; start += BATCH) {
    const batch = tf.tidy(() => teacher.predictLogits(encodeIds(tf, sentences.slice(start, start + BATCH), inputs.vocab, params.text.max_len)));
    logits.push(...(batch.arraySync() as number[][]));
    batch.dispose();
  }
  teacher.dispose();

  const rows: TransferRow[] = sentences.map((tokens, i) => ({ tokens, y: i < original.length ? inputs.train[i]!.y : null, logits: logits[i]! }));
  await writeTransferSet(path.join(root, SOFT_LABELS_DIR), rows, {
    classes: inputs.labels.length,
    original: original.length,
    augmented: augmented.length,
    teacher_members: modelDirs(teacherDir).length,
  });
  const agree = rows.filter((row) => row.y !== null && row.logits.indexOf(Math.max(...row.logits)) === row.y).length;
  process.stderr.write(
    `generate-soft-labels: ${original.length} training + ${augmented.length} augmented sentences labelled by the teacher ` +
      `(teacher agrees with ${agree}/${original.length} training labels)\n`,
  );
}
