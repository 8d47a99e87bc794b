// Plain JavaScript so that the benchmarks (bench/*.mjs) use the very project the end-to-end tests do.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';

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
  'student.train_by_size.tiny.epochs=2',
  'soft_labels.augment.copies=1',
  'evaluate.latency_runs=20',
  'evaluate.throughput_batch=16',
];

/** TINY as command-line flags. */
export const tinyFlags = () => TINY.flatMap((s) => ['--set', s]);

/** The repository's own pipeline.yaml and params.yaml on 300 real sentences (a fresh temp folder), for a run of seconds with TINY. */
export function tinyProject() {
  const root = mkdtempSync(path.join(tmpdir(), 'kd-e2e-'));
  copyFileSync(path.join(REPO, 'pipeline.yaml'), path.join(root, 'pipeline.yaml'));
  copyFileSync(path.join(REPO, 'params.yaml'), path.join(root, 'params.yaml'));
  const rows = parse(readFileSync(path.join(REPO, 'data', 'sentiment-labelled-sentences.csv')), { columns: true });
  // Every 10th row keeps both classes and all three sources.
  const sample = rows.filter((_, i) => i % 10 === 0);
  const header = Object.keys(rows[0] ?? {});
  const csv = [header.join(','), ...sample.map((r) => header.map((h) => `"${(r[h] ?? '').replaceAll('"', '""')}"`).join(','))].join('\n');
  mkdirSync(path.join(root, 'data'));
  writeFileSync(path.join(root, 'data', 'sentiment-labelled-sentences.csv'), `${csv}\n`);
  return root;
}
