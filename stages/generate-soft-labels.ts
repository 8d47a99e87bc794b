import path from 'node:path';
import { KdError } from '../lib/errors.js';
import { reportStageTag } from '../lib/pipeline/stage-tags.js';
import { loadTf } from '../lib/ml/backend/backend.js';
import { readTrainingInputs } from '../lib/ml/data/train-data.js';
import { loadClassifier, modelDirs, type ClassifierInput } from '../lib/ml/models/model-io.js';
import { loadMlParams } from '../lib/ml/params.js';
import { nearestWords } from '../lib/ml/teacher/neighbours.js';
import { TeacherEncoder } from '../lib/ml/teacher/teacher-encoder.js';
import { isTransformerMember, readTransformerMember } from '../lib/ml/teacher/transformer-member-info.js';
import { augmentAll, type AugmentContext } from '../lib/ml/text/augment.js';
import { PAD, UNK, words } from '../lib/ml/text/text.js';
import { SOFT_LABELS_DIR, type TransferRow, writeTransferSet } from '../lib/ml/train/soft-labels.js';

/**
 * Teacher logits for the transfer set train-student learns from (Tang et al. 2019): every training
 * sentence, `soft_labels.augment.copies` augmented copies of each (masked words become the
 * teacher's mask token, replaced words its nearest neighbours) and, with
 * `soft_labels.vocabulary_words`, every vocabulary word on its own.
 */
export async function run(root: string): Promise<void> {
  const params = loadMlParams(root);
  const { tf, info } = await loadTf();
  reportStageTag('kd.backend', info.backend);
  const inputs = readTrainingInputs(root);
  const teacherDir = path.join(root, 'artifacts/teacher');
  const members = modelDirs(teacherDir);
  const transformer = members.filter(isTransformerMember).map(readTransformerMember)[0];
  const augment = params.soft_labels.augment;

  // The encoder's own view of words: its mask token, and word similarity for replacements.
  const context: AugmentContext = { maskToken: UNK };
  const vocabulary = Object.keys(inputs.vocab).filter((token) => token !== PAD && token !== UNK);
  if (transformer) {
    const wantsVectors = augment.replace_prob > 0 && augment.copies > 0;
    if (wantsVectors && transformer.head === 'model') {
      throw new KdError('params.yaml: soft_labels.augment.replace_prob: word replacement needs the encoder\'s embeddings, and teacher.transformer.head.type: model outputs only logits: set replace_prob to 0');
    }
    // The trained teacher's own reading of a text (pooling, length, windows), whatever params.yaml says now.
    const reading = { pooling: transformer.pooling, max_tokens: transformer.max_tokens, long_text: transformer.long_text, window_overlap: transformer.window_overlap };
    const encoder = await TeacherEncoder.open(root, { ...params.teacher.transformer, ...reading }, transformer.head === 'model' ? 'logits' : 'embedding');
    try {
      context.maskToken = encoder.encoder.maskToken || UNK;
      if (wantsVectors) {
        const vectors = await encoder.encode(vocabulary, 'generate-soft-labels (vocabulary words)');
        const trainingTokens = new Set(inputs.train.flatMap((example) => example.tokens));
        const neighbours = nearestWords(tf, vocabulary, vectors, trainingTokens, augment.replace_top_k);
        context.neighbours = (token) => neighbours.get(token);
      }
    } finally {
      await encoder.dispose();
    }
  } else if (augment.replace_prob > 0 && augment.copies > 0) {
    throw new KdError('params.yaml: soft_labels.augment.replace_prob: word replacement needs a transformer teacher member (its encoder measures word similarity): set replace_prob to 0');
  }

  const original: ClassifierInput[] = inputs.train.map(({ text, tokens }) => ({ text, tokens }));
  const augmented = augmentAll(inputs.train.map((example) => words(example.text, params.text)), augment, params.seed, context);
  const lexicon: ClassifierInput[] = params.soft_labels.vocabulary_words ? vocabulary.map((word) => ({ text: word, tokens: [word] })) : [];
  const all = [...original, ...augmented, ...lexicon];

  const teacher = await loadClassifier(teacherDir, { root, vocab: inputs.vocab, maxLen: params.text.max_len });
  let logits: number[][];
  try {
    // All at once: an encoder sorts every sentence by length for its batches (and reports one progress line).
    logits = await teacher.predictLogits(all);
  } finally {
    await teacher.dispose();
  }

  const rows: TransferRow[] = all.map((input, i) => ({ text: input.text, tokens: [...input.tokens], y: i < original.length ? inputs.train[i]!.y : null, logits: logits[i]! }));
  await writeTransferSet(path.join(root, SOFT_LABELS_DIR), rows, {
    classes: inputs.labels.length,
    original: original.length,
    augmented: augmented.length,
    words: lexicon.length,
    teacher_members: members.length,
  });
  const agree = rows.filter((row) => row.y !== null && row.logits.indexOf(Math.max(...row.logits)) === row.y).length;
  process.stderr.write(
    `generate-soft-labels: ${original.length} training + ${augmented.length} augmented sentences + ${lexicon.length} vocabulary words labelled by the teacher ` +
      `(teacher agrees with ${agree}/${original.length} training labels)\n`,
  );
}
