import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomic } from '../lib/atomic-write.js';
import { KdError } from '../lib/errors.js';
import { writeDirAtomic } from '../lib/atomic-dir.js';
import type { Example } from '../lib/ml/data/dataset.js';
import { lineList, readDataSource, type RawRow } from '../lib/ml/data/data-source.js';
import { loadMlParams } from '../lib/ml/params.js';
import { labelledShare, stratifiedSplit } from '../lib/ml/data/split.js';
import { UNLABELED_SPLIT } from '../lib/ml/data/train-data.js';
import { tokenize } from '../lib/ml/text/text.js';

function countBy(examples: readonly Example[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const example of examples) counts[example.label] = (counts[example.label] ?? 0) + 1;
  return counts;
}

/**
 * Reads and checks the data set, tokenises it, drops exact duplicates (same normalised text and
 * label — they would leak between splits) and writes the stratified train/val/test split.
 */
export async function run(root: string): Promise<void> {
  const params = loadMlParams(root);
  const source = readDataSource(root, params.data);
  const labels = [...new Set(source.rows.map((row) => row.label.trim()))].sort();

  const seen = new Map<string, RawRow>();
  const duplicates: { line: number; first: number }[] = [];
  const examples: Example[] = [];
  for (const row of source.rows) {
    const tokens = tokenize(row.text, params.text);
    const label = row.label.trim();
    const key = `${label}\u0000${tokens.join(' ')}`;
    const first = seen.get(key);
    if (first) {
      duplicates.push({ line: row.line, first: first.line });
      continue;
    }
    seen.set(key, row);
    examples.push({ text: row.text, tokens, label, y: labels.indexOf(label) });
  }

  const split = stratifiedSplit(examples, (example) => example.label, params.data.split, params.seed);
  for (const name of ['train', 'test'] as const) {
    if (split[name].length === 0) throw new KdError(`${params.data.path}: too few rows for a ${name} split`);
  }

  // data.label_fraction: the training labels kept; the other sentences become unlabelled transfer text.
  const { labelled, unlabelled } = labelledShare(split.train, (example) => example.label, params.data.label_fraction, params.seed);
  split.train = labelled;

  const file = params.data.path;
  if (source.emptyLines.length > 0) process.stderr.write(`preprocess: ${file}: ${source.emptyLines.length} empty row(s) dropped, line(s) ${lineList(source.emptyLines)}\n`);
  if (duplicates.length > 0) {
    const lines = duplicates.map((d) => `${d.line} (= ${d.first})`);
    process.stderr.write(`preprocess: ${file}: ${duplicates.length} duplicate row(s) dropped, line(s) ${lineList(lines)}\n`);
  }

  await writeDirAtomic(path.join(root, 'artifacts/data'), (tmp) => {
    for (const name of ['train', 'val', 'test'] as const) {
      writeFileSync(path.join(tmp, `${name}.jsonl`), split[name].map((example) => `${JSON.stringify(example)}\n`).join(''));
    }
    writeFileSync(path.join(tmp, 'labels.json'), `${JSON.stringify(labels)}\n`);
    // Only with label_fraction < 1, so the default output (and what it caches downstream) is unchanged.
    if (unlabelled.length > 0) writeFileSync(path.join(tmp, UNLABELED_SPLIT), unlabelled.map(({ text, tokens }) => `${JSON.stringify({ text, tokens })}\n`).join(''));
  });
  const metrics = {
    rows: source.rows.length,
    examples: examples.length,
    classes: labels.length,
    duplicates: duplicates.length,
    empty_rows: source.emptyLines.length,
    train: split.train.length,
    val: split.val.length,
    test: split.test.length,
    ...(unlabelled.length > 0 ? { label_fraction: params.data.label_fraction, train_unlabelled: unlabelled.length } : {}),
    per_class: { train: countBy(split.train), val: countBy(split.val), test: countBy(split.test) },
  };
  writeJsonAtomic(path.join(root, 'artifacts/metrics/data.json'), metrics);
  const unlabelledNote = unlabelled.length > 0 ? ` labelled (+ ${unlabelled.length} unlabelled: data.label_fraction ${params.data.label_fraction})` : '';
  process.stderr.write(`preprocess: ${examples.length} examples, ${labels.length} classes → train ${split.train.length}${unlabelledNote}, val ${split.val.length}, test ${split.test.length}\n`);
}
