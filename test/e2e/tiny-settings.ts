import path from 'node:path';

const REPO = path.resolve(import.meta.dirname, '../..');

/**
 * `--set` values that shrink the default pipeline so a run takes seconds: the real default encoder
 * from the folder the test environment fetched (as `npm run setup` does), a small student, a
 * one-copy transfer set and few latency runs.
 */
export const TINY = [
  `teacher.transformer.model=${path.join(REPO, 'models', 'encoder')}`,
  'teacher.transformer.head.train.epochs=5',
  'text.max_len=16',
  'vocab.encoder_words=300',
  '+student.model.embedding_dim=4',
  'student.train.epochs=2',
  'soft_labels.augment.copies=1',
  'evaluate.latency_runs=5',
  'evaluate.throughput_batch=16',
];

/** TINY as command-line flags. */
export const tinyFlags = (): string[] => TINY.flatMap((s) => ['--set', s]);
