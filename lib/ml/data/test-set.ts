import { existsSync } from 'node:fs';
import path from 'node:path';
import { KdError } from '../../errors.js';
import type { ClassifierInput } from '../models/model-io.js';
import { readLabels, readSplit, readVocab } from './dataset.js';

/** The held-out test split, read once for every model that is scored on it. */
export interface TestSet {
  labels: string[];
  vocab: Record<string, number>;
  /** Text and tokens of each row. */
  inputs: ClassifierInput[];
  /** True class of each row. */
  y: number[];
  rows: number;
  maxLen: number;
  /** The rows holding a word the training split never had (loadUnseenWordRows), when known. */
  unseenWordRows?: readonly number[];
}

/**
 * Fails before any work (and so before anything is written) when one of a stage's inputs is
 * missing, naming every missing path relative to the project root.
 */
export function requireInputs(root: string, stage: string, inputs: readonly string[]): void {
  const missing = inputs.filter((rel) => !existsSync(path.join(root, rel)));
  if (missing.length > 0) {
    throw new KdError(`${stage}: missing input${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (run the stages that produce ${missing.length > 1 ? 'them' : 'it'} first)`);
  }
}

/** Reads artifacts/data/test.jsonl, labels.json and artifacts/vocab.json. */
export function loadTestSet(root: string, maxLen: number): TestSet {
  const testFile = path.join(root, 'artifacts/data/test.jsonl');
  const labels = readLabels(path.join(root, 'artifacts/data/labels.json'));
  const vocab = readVocab(path.join(root, 'artifacts/vocab.json'));
  const examples = readSplit(testFile);
  if (examples.length === 0) throw new KdError(`${testFile}: the test split is empty`);
  examples.forEach((example, row) => {
    if (example.y >= labels.length || labels[example.y] !== example.label) {
      throw new KdError(`${testFile}: example ${row + 1}: label "${example.label}" (y = ${example.y}) does not match labels.json`);
    }
  });
  return { labels, vocab, inputs: examples.map(({ text, tokens }) => ({ text, tokens })), y: examples.map((e) => e.y), rows: examples.length, maxLen };
}

/**
 * The rows (0-based, ascending) whose tokens hold a word no training sentence has. Compared with the
 * training split's own tokens, not the vocabulary: the vocabulary also holds encoder words, which a
 * student may know only through the teacher.
 */
export function unseenWordRows(trainTokens: Iterable<readonly string[]>, testTokens: readonly (readonly string[])[]): number[] {
  const seen = new Set<string>();
  for (const tokens of trainTokens) for (const token of tokens) seen.add(token);
  return testTokens.flatMap((tokens, row) => (tokens.some((token) => !seen.has(token)) ? [row] : []));
}

/** unseenWordRows of the test set against artifacts/data/train.jsonl. */
export function loadUnseenWordRows(root: string, set: TestSet): number[] {
  const train = readSplit(path.join(root, 'artifacts/data/train.jsonl'));
  return unseenWordRows(
    train.map((e) => e.tokens),
    set.inputs.map((input) => input.tokens),
  );
}

/** The test split with its unseen-word rows: what evaluate-teacher and evaluate score every model on. */
export function loadScoringSet(root: string, maxLen: number): TestSet {
  const loaded = loadTestSet(root, maxLen);
  return { ...loaded, unseenWordRows: loadUnseenWordRows(root, loaded) };
}
