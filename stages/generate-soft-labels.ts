import { existsSync } from 'node:fs';
import path from 'node:path';
import { KdError } from '../lib/errors.js';
import { reportStageTag } from '../lib/pipeline/stage-tags.js';
import { loadTf } from '../lib/ml/backend/backend.js';
import { lineList } from '../lib/ml/data/data-source.js';
import { readSplit, readUnlabeledSplit } from '../lib/ml/data/dataset.js';
import { DATA_DIR, readTrainingInputs, type TrainingInputs, UNLABELED_SPLIT } from '../lib/ml/data/train-data.js';
import { unlabeledSentences, type UnlabeledFileStats, type UnlabeledSource } from '../lib/ml/data/unlabeled-text.js';
import { loadClassifier, modelDirs, type Classifier, type ClassifierInput } from '../lib/ml/models/model-io.js';
import { augmentCopies, loadMlParams, type MlParams } from '../lib/ml/params.js';
import { progressLine, Throughput } from '../lib/ml/teacher/throughput.js';
import { nearestWords } from '../lib/ml/teacher/neighbours.js';
import { TeacherEncoder } from '../lib/ml/teacher/teacher-encoder.js';
import { isTransformerMember, readTransformerMember } from '../lib/ml/teacher/transformer-member-info.js';
import { augmentAll, type AugmentContext } from '../lib/ml/text/augment.js';
import { PAD, UNK, words } from '../lib/ml/text/text.js';
import { SOFT_LABELS_DIR, type TransferRow, writeTransferSet } from '../lib/ml/train/soft-labels.js';

/**
 * Teacher logits for the transfer set train-student learns from (Tang et al. 2019): every training
 * sentence, `soft_labels.augment.copies` augmented copies of each (the student size's count when it
 * gives one per size; masked words become the teacher's mask token, replaced words its nearest
 * neighbours) and, with
 * `soft_labels.vocabulary_words`, every vocabulary word on its own; then the unlabelled text
 * (data.label_fraction's rest, soft_labels.unlabeled's files), streamed in chunks.
 */
export async function run(root: string): Promise<void> {
  const params = loadMlParams(root);
  const inputs = readTrainingInputs(root);
  const unlabeled = { ...(await planUnlabeled(root, params, inputs)), textOptions: params.text };
  const { tf, info } = await loadTf();
  reportStageTag('kd.backend', info.backend);
  const teacherDir = path.join(root, 'artifacts/teacher');
  const members = modelDirs(teacherDir);
  const transformer = members.filter(isTransformerMember).map(readTransformerMember)[0];
  const augment = { ...params.soft_labels.augment, copies: augmentCopies(params) };

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

  // The training split's sentences whose labels data.label_fraction set aside are augmented like the labelled ones.
  const asideFile = path.join(root, DATA_DIR, UNLABELED_SPLIT);
  const aside = existsSync(asideFile) ? readUnlabeledSplit(asideFile) : [];
  const original: ClassifierInput[] = inputs.train.map(({ text, tokens }) => ({ text, tokens }));
  const augmented = augmentAll([...inputs.train, ...aside].map((example) => words(example.text, params.text)), augment, params.seed, context);
  const lexicon: ClassifierInput[] = params.soft_labels.vocabulary_words ? vocabulary.map((word) => ({ text: word, tokens: [word] })) : [];
  const all = [...original, ...augmented, ...lexicon];

  const teacher = await loadClassifier(teacherDir, { root, vocab: inputs.vocab, maxLen: params.text.max_len });
  try {
    await writeTransferSet(path.join(root, SOFT_LABELS_DIR), async (append) => {
      const agree = await labelAll(teacher, all, inputs.train, append);
      const encodingNote = await labelUnlabeled(root, teacher, unlabeled, append);
      process.stderr.write(
        `generate-soft-labels: ${original.length} training + ${augmented.length} augmented sentences + ${lexicon.length} vocabulary words + ${unlabeled.total} unlabelled sentences labelled by the teacher ` +
          `(teacher agrees with ${agree}/${original.length} training labels)${encodingNote}\n`,
      );
      return {
        classes: inputs.labels.length,
        original: original.length,
        augmented: augmented.length,
        words: lexicon.length,
        teacher_members: members.length,
        unlabeled: unlabeled.total,
        sources: unlabeled.stats.map(({ emptyLines, ...entry }) => ({ ...entry, empty: emptyLines.length })),
        teacher_agreement: agree / original.length,
      };
    });
  } finally {
    await teacher.dispose();
  }
}

/**
 * Labels the training sentences (`labelled`, first in `all`), their augmented copies and the
 * words, appends them to the transfer set, and counts the labelled ones the teacher agrees with.
 * A function of its own so that its rows are garbage before the unlabelled text streams.
 */
async function labelAll(teacher: Classifier, all: readonly ClassifierInput[], labelled: readonly { y: number }[], append: (rows: readonly TransferRow[]) => void): Promise<number> {
  // All at once: an encoder sorts every sentence by length for its batches (and reports one progress line).
  const logits = await teacher.predictLogits(all);
  const rows: TransferRow[] = all.map((input, i) => ({ text: input.text, tokens: [...input.tokens], y: i < labelled.length ? labelled[i]!.y : null, logits: logits[i]! }));
  append(rows);
  return rows.filter((row) => row.y !== null && argMax(row.logits) === row.y).length;
}

/** Sentences per teacher call on unlabelled text: each call's embeddings are cached before the next, so an interrupted run loses at most one chunk. */
const CHUNK = 500;

function argMax(values: readonly number[]): number {
  return values.indexOf(Math.max(...values));
}

/** The unlabelled sources and what a first, checking pass over them found. */
interface UnlabeledPlan {
  sources: UnlabeledSource[];
  heldOut: Set<string>;
  trainKeys: string[];
  total: number;
  stats: UnlabeledFileStats[];
}

/**
 * Reads every unlabelled source once without the teacher: a bad row fails the stage in seconds
 * (nothing written), and the count gives the labelling pass its progress and ETA.
 */
async function planUnlabeled(root: string, params: MlParams, inputs: TrainingInputs): Promise<UnlabeledPlan> {
  const configured = params.soft_labels.unlabeled;
  const hint = 'set soft_labels.unlabeled.text_column in params.yaml';
  const files = typeof configured.path === 'string' ? [configured.path] : configured.path;
  const sources: UnlabeledSource[] = [
    ...(existsSync(path.join(root, DATA_DIR, UNLABELED_SPLIT)) ? [{ file: `${DATA_DIR}/${UNLABELED_SPLIT}`, column: 'text', columnHint: hint }] : []),
    ...files.map((file) => ({ file, column: configured.text_column, columnHint: hint })),
  ];
  const key = (example: { tokens: readonly string[] }) => example.tokens.join(' ');
  const heldOut = new Set([...inputs.val, ...readSplit(path.join(root, DATA_DIR, 'test.jsonl'))].map(key));
  const trainKeys = inputs.train.map(key);
  const stats: UnlabeledFileStats[] = [];
  let total = 0;
  for await (const _ of unlabeledSentences(root, sources, params.text, heldOut, new Set(trainKeys), stats)) total++;
  for (const entry of stats) {
    const dropped = [
      entry.emptyLines.length > 0 ? `${entry.emptyLines.length} empty (line${entry.emptyLines.length === 1 ? '' : 's'} ${lineList(entry.emptyLines)})` : '',
      entry.duplicates > 0 ? `${entry.duplicates} duplicate${entry.duplicates === 1 ? '' : 's'}` : '',
      entry.leaked > 0 ? `${entry.leaked} also in the validation/test split` : '',
    ].filter(Boolean);
    process.stderr.write(`generate-soft-labels: ${entry.file}: ${entry.rows} rows → ${entry.kept} unlabelled sentences${dropped.length > 0 ? `; dropped ${dropped.join(', ')}` : ''}\n`);
  }
  return { sources, heldOut, trainKeys, total, stats };
}

/** Labels the unlabelled sentences chunk by chunk, streamed from their files into the transfer set; says what was encoded. */
async function labelUnlabeled(root: string, teacher: Classifier, plan: UnlabeledPlan & { textOptions: MlParams['text'] }, append: (rows: readonly TransferRow[]) => void): Promise<string> {
  if (plan.total === 0) return '';
  const before = { ...(teacher.encodingStats ?? { cached: 0, encoded: 0 }) };
  const meter = new Throughput(plan.total, progressLine('generate-soft-labels: unlabelled text'));
  let chunk: ClassifierInput[] = [];
  const label = async () => {
    const logits = await teacher.predictLogits(chunk, { progress: false });
    append(chunk.map((input, i) => ({ text: input.text, tokens: [...input.tokens], y: null, logits: logits[i]! })));
    meter.add(chunk.length);
    chunk = [];
  };
  for await (const sentence of unlabeledSentences(root, plan.sources, plan.textOptions, plan.heldOut, new Set(plan.trainKeys), [])) {
    chunk.push(sentence);
    if (chunk.length === CHUNK) await label();
  }
  if (chunk.length > 0) await label();
  const after = teacher.encodingStats;
  return after ? `; unlabelled: ${after.encoded - before.encoded} encoded, ${after.cached - before.cached} from the embedding cache` : '';
}
