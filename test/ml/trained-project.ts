import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Example } from '../../lib/ml/data/dataset.js';
import { loadTf } from '../../lib/ml/backend/backend.js';
import { saveLayersModel } from '../../lib/ml/models/model-io.js';
import { buildStudent, buildTeacherMember } from '../../lib/ml/models/models.js';
import { studentModel } from '../../lib/ml/models/student-sizes.js';
import { loadMlParams } from '../../lib/ml/params.js';
import { buildVocab } from '../../lib/ml/text/vocab.js';

const REPO = path.resolve(import.meta.dirname, '../..');
export const MAX_LEN = 6;
export const LABELS = ['negative', 'neutral', 'positive'];
const WORDS = [
  ['bad', 'awful', 'boring', 'hate'],
  ['okay', 'average', 'fine', 'plain'],
  ['great', 'good', 'lovely', 'love'],
];

/** Sentences like "the film was great" whose word tells the class; seeded variety through `i`. */
function examples(count: number, offset: number, labels: readonly string[]): Example[] {
  return Array.from({ length: count }, (_, i) => {
    const y = i % labels.length;
    const word = WORDS[y]![(i + offset) % 4]!;
    const tokens = ['the', i % 2 ? 'film' : 'show', 'was', word];
    return { text: tokens.join(' '), tokens, label: labels[y]!, y };
  });
}

/**
 * A temp project as the training stages leave it: params.yaml (tiny text.max_len, few latency
 * runs), artifacts/data, artifacts/vocab.json, a two-member teacher ensemble and a student and
 * baseline (untrained, differently seeded tiny models: evaluate and export score whatever they get).
 * `labels` renames the three classes.
 */
export async function trainedProject(labels: readonly string[] = LABELS): Promise<string> {
  const { tf } = await loadTf();
  const root = mkdtempSync(path.join(tmpdir(), 'kd-eval-'));
  copyFileSync(path.join(REPO, 'pipeline.yaml'), path.join(root, 'pipeline.yaml'));
  const params = readFileSync(path.join(REPO, 'params.yaml'), 'utf8')
    .replace(/max_len: \d+/, `max_len: ${MAX_LEN}`)
    .replace(/latency_runs: \d+/, 'latency_runs: 10')
    .replace(/throughput_batch: \d+/, 'throughput_batch: 16');
  writeFileSync(path.join(root, 'params.yaml'), params);

  const data = path.join(root, 'artifacts/data');
  mkdirSync(data, { recursive: true });
  const train = examples(30, 0, labels);
  const split = { train, val: examples(6, 1, labels), test: examples(21, 2, labels) };
  for (const [name, rows] of Object.entries(split)) writeFileSync(path.join(data, `${name}.jsonl`), rows.map((e) => `${JSON.stringify(e)}\n`).join(''));
  writeFileSync(path.join(data, 'labels.json'), JSON.stringify(labels));
  const vocab = buildVocab(train.map((e) => e.tokens), 1, 100);
  writeFileSync(path.join(root, 'artifacts/vocab.json'), JSON.stringify(vocab));

  const p = loadMlParams(root);
  const shape = (seed: number) => ({ vocabSize: Object.keys(vocab).length, maxLen: MAX_LEN, numClasses: labels.length, seed });
  const teacher = { ...p.teacher, embedding_dim: 16, cnn: { filters: 8, kernel_sizes: [2, 3] }, hidden: 0, dropout: 0 };
  await saveLayersModel(buildTeacherMember(tf, 'cnn', teacher, shape(1)), path.join(root, 'artifacts/teacher/member-0'));
  await saveLayersModel(buildTeacherMember(tf, 'cnn', teacher, shape(2)), path.join(root, 'artifacts/teacher/member-1'));
  // The tiny size's architecture, narrowed so the student stays smaller than this toy teacher.
  const student = { ...studentModel(p.student), embedding_dim: 8, filters: 4 };
  await saveLayersModel(buildStudent(tf, student, shape(3)), path.join(root, 'artifacts/student'));
  await saveLayersModel(buildStudent(tf, student, shape(4)), path.join(root, 'artifacts/baseline'));
  return root;
}
