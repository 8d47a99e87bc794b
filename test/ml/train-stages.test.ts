import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadClassifier } from '../../lib/ml/models/model-io.js';
import { readTransferSet } from '../../lib/ml/train/soft-labels.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(REPO, 'bin/kd-pipeline.js');
const TIMING = ['train_seconds', 'samples_per_second'];

type Params = Record<string, any>;

/** Tiny sizes so a stage takes seconds on the pure-JS backend (a small vocab keeps the embedding gradient cheap). */
function tinyParams(edit: (p: Params) => void = () => {}): string {
  const p = parse(readFileSync(path.join(REPO, 'params.yaml'), 'utf8')) as Params;
  p.data.path = 'data/sample.csv';
  p.text.max_len = 16;
  p.vocab.max_size = 150;
  // The CNN/BiLSTM teacher path (the transformer teacher has test/ml/transformer-teacher.test.ts and the e2e test).
  p.vocab.encoder_words = 0;
  p.teacher.members = ['cnn'];
  Object.assign(p.soft_labels, { augment: { ...p.soft_labels.augment, copies: 2, replace_prob: 0 }, vocabulary_words: false });
  Object.assign(p.teacher, { embedding_dim: 8, hidden: 8, cnn: { filters: 8, kernel_sizes: [3] }, bilstm: { units: 4 } });
  Object.assign(p.teacher.train, { epochs: 2, batch_size: 64 });
  p.student.tokenizer = 'words'; // no transformer teacher, so no encoder tokenizer to read
  Object.assign(p.student.model, { embedding_dim: 4 });
  Object.assign(p.student.train, { epochs: 2, batch_size: 64 });
  p.student.train_by_size = {};
  edit(p);
  return stringify(p);
}

const projects: string[] = [];

/** A temp project holding every 15th row of the bundled data set (200 sentences). */
function project(edit?: (p: Params) => void): string {
  const root = mkdtempSync(path.join(tmpdir(), 'kd-train-'));
  projects.push(root);
  copyFileSync(path.join(REPO, 'pipeline.yaml'), path.join(root, 'pipeline.yaml'));
  writeFileSync(path.join(root, 'params.yaml'), tinyParams(edit));
  const lines = readFileSync(path.join(REPO, 'data/sentiment-labelled-sentences.csv'), 'utf8').split('\n');
  mkdirSync(path.join(root, 'data'));
  writeFileSync(path.join(root, 'data/sample.csv'), [lines[0], ...lines.slice(1).filter((line, i) => i % 15 === 14 && line !== '')].join('\n') + '\n');
  return root;
}

/** A copy of `root` with only its data and vocab (no models, no checkpoints), and optionally other params. */
function copyInputs(root: string, edit?: (p: Params) => void): string {
  const copy = project(edit);
  cpSync(path.join(root, 'artifacts/data'), path.join(copy, 'artifacts/data'), { recursive: true });
  cpSync(path.join(root, 'artifacts/vocab.json'), path.join(copy, 'artifacts/vocab.json'));
  return copy;
}

function stage(root: string, name: string, env: Record<string, string> = {}) {
  return spawnSync('node', [CLI, 'stage', name], { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } });
}

function ok(root: string, name: string, env?: Record<string, string>): string {
  const result = stage(root, name, env);
  expect(result.status, result.stderr).toBe(0);
  return result.stderr;
}

const json = (root: string, file: string) => JSON.parse(readFileSync(path.join(root, file), 'utf8'));
const withoutTiming = (metrics: Record<string, number>) => Object.fromEntries(Object.entries(metrics).filter(([key]) => !TIMING.includes(key)));

describe('training stages through the CLI', () => {
  let root: string;

  beforeAll(() => {
    root = project();
    ok(root, 'preprocess');
    ok(root, 'build-vocab');
  });

  afterAll(() => {
    for (const dir of projects) rmSync(dir, { recursive: true, force: true });
  });

  it('trains the teacher, labels a transfer set, distils the student and trains the baseline', async () => {
    const tags = path.join(root, 'tags.txt');
    const teacherLog = ok(root, 'train-teacher', { KD_STAGE_TAGS: tags });
    expect(teacherLog).toMatch(/train-teacher: epoch 1\/2 loss \d\.\d{4} acc .* val_loss .* lr /);
    expect(readFileSync(tags, 'utf8')).toMatch(/^kd\.backend=(cpu|tensorflow)$/m);
    ok(root, 'generate-soft-labels');
    ok(root, 'train-student');
    ok(root, 'train-baseline');

    const vocab = json(root, 'artifacts/vocab.json');
    const inputs = ['good film', 'bad', ''].map((text) => ({ text, tokens: text.split(' ') }));
    for (const name of ['teacher', 'student', 'baseline']) {
      const model = await loadClassifier(path.join(root, 'artifacts', name), { root, vocab, maxLen: 16 });
      const logits = await model.predictLogits(inputs);
      expect(logits.map((row) => row.length)).toEqual([2, 2, 2]);
      const metrics = json(root, `artifacts/metrics/${name}.json`);
      expect(Object.keys(metrics).sort()).toEqual(
        ['best_epoch', 'best_val_accuracy', 'best_val_loss', 'epochs_run', 'members', 'params', 'samples_per_second', 'train_examples', 'train_seconds', 'val_accuracy', 'val_loss'],
      );
      expect(metrics.params).toBe(model.paramCount);
      expect(Object.values(metrics).every((v) => typeof v === 'number' && Number.isFinite(v))).toBe(true);
      const plot = json(root, `artifacts/plots/${name}-history.json`);
      expect(plot).toHaveLength(metrics.epochs_run);
      expect(Object.keys(plot[0]).sort()).toEqual(['accuracy', 'epoch', 'learning_rate', 'loss', 'val_accuracy', 'val_loss']);
    }
    expect(existsSync(path.join(root, 'artifacts/teacher/member-0/model.json'))).toBe(true);
    expect(existsSync(path.join(root, 'artifacts/student/model.json'))).toBe(true);

    // Every training sentence + 2 augmented copies of each; only the originals keep their label.
    const { rows, meta } = readTransferSet(path.join(root, 'artifacts/soft-labels'));
    const train = json(root, 'artifacts/metrics/data.json').train;
    expect(meta).toMatchObject({ classes: 2, original: train, augmented: 2 * train, words: 0, teacher_members: 1, unlabeled: 0, sources: [] });
    // The teacher's agreement with the labels it had, as the rows show it.
    const agree = rows.slice(0, train).filter((row) => row.logits.indexOf(Math.max(...row.logits)) === row.y).length;
    expect(meta.teacher_agreement).toBe(agree / train);
    expect(rows.slice(0, train).every((row) => row.y !== null)).toBe(true);
    expect(rows.slice(train).every((row) => row.y === null && row.tokens.length > 0)).toBe(true);
    expect(json(root, 'artifacts/metrics/student.json').train_examples).toBe(3 * train);
    expect(json(root, 'artifacts/metrics/baseline.json').params).toBe(json(root, 'artifacts/metrics/student.json').params);
  });

  it('gives identical metrics for the same params twice, and starts over when params change', () => {
    const copy = copyInputs(root);
    ok(copy, 'train-teacher');
    expect(withoutTiming(json(copy, 'artifacts/metrics/teacher.json'))).toEqual(withoutTiming(json(root, 'artifacts/metrics/teacher.json')));
    expect(json(copy, 'artifacts/plots/teacher-history.json')).toEqual(json(root, 'artifacts/plots/teacher-history.json'));
    expect(readFileSync(path.join(copy, 'artifacts/teacher/member-0/weights.bin'))).toEqual(readFileSync(path.join(root, 'artifacts/teacher/member-0/weights.bin')));

    writeFileSync(path.join(copy, 'params.yaml'), tinyParams((p) => (p.teacher.train.learning_rate = 0.01)));
    expect(ok(copy, 'train-teacher')).toMatch(/params, data or training code changed since the last checkpoint: starting over/);
    expect(json(copy, 'artifacts/metrics/teacher.json').val_loss).not.toBe(json(root, 'artifacts/metrics/teacher.json').val_loss);
  });

  it('resumes a cnn+bilstm ensemble interrupted in its second member and ends exactly like an uninterrupted run', () => {
    const ensemble = (p: Params) => (p.teacher.members = ['cnn', 'bilstm']);
    const whole = copyInputs(root, ensemble);
    ok(whole, 'train-teacher');

    const resumed = copyInputs(root, ensemble);
    const stopped = stage(resumed, 'train-teacher', { KD_STOP_AFTER_EPOCH: '3' });
    expect(stopped.status).toBe(1);
    expect(stopped.stderr).toMatch(/train-teacher: stopped after epoch 1 \(KD_STOP_AFTER_EPOCH=3\); rerun to resume/);
    expect(existsSync(path.join(resumed, 'artifacts/teacher'))).toBe(false);
    expect(existsSync(path.join(resumed, 'artifacts/metrics/teacher.json'))).toBe(false);
    const log = ok(resumed, 'train-teacher');
    expect(log).toMatch(/resuming cnn after epoch 2/);
    expect(log).toMatch(/resuming bilstm after epoch 1/);
    expect(log).toMatch(/\[bilstm 2\/2\] epoch 2\/2/);
    expect(log).not.toMatch(/\[cnn 1\/2\] epoch/);

    const metrics = json(resumed, 'artifacts/metrics/teacher.json');
    expect(withoutTiming(metrics)).toEqual(withoutTiming(json(whole, 'artifacts/metrics/teacher.json')));
    expect(metrics).toMatchObject({ members: 2, epochs_run: 4 });
    expect(Object.keys(metrics)).toEqual(expect.arrayContaining(['member_0_best_epoch', 'member_1_best_val_accuracy']));
    for (const member of ['member-0', 'member-1']) {
      const weights = (dir: string) => readFileSync(path.join(dir, 'artifacts/teacher', member, 'weights.bin'));
      expect(weights(resumed)).toEqual(weights(whole));
    }
    const plot = json(resumed, 'artifacts/plots/teacher-history.json');
    expect(plot).toEqual(json(whole, 'artifacts/plots/teacher-history.json'));
    expect(plot).toHaveLength(2);
    expect(Object.keys(plot[1]).sort()).toEqual(['epoch', ...['member_0', 'member_1'].flatMap((m) => ['accuracy', 'learning_rate', 'loss', 'val_accuracy', 'val_loss'].map((k) => `${m}_${k}`))].sort());
  });

  it('starts over instead of resuming a checkpoint written by other training code', () => {
    // A copy of this installation whose ML code differs by one comment, as after an upgrade or a local edit.
    const install = mkdtempSync(path.join(tmpdir(), 'kd-install-'));
    projects.push(install);
    for (const dir of ['bin', 'dist']) cpSync(path.join(REPO, dir), path.join(install, dir), { recursive: true });
    copyFileSync(path.join(REPO, 'package.json'), path.join(install, 'package.json'));
    symlinkSync(path.join(REPO, 'node_modules'), path.join(install, 'node_modules'));
    appendFileSync(path.join(install, 'dist/lib/ml/train/train.js'), '\n// another version of the training loop\n');

    const copy = copyInputs(root);
    expect(stage(copy, 'train-teacher', { KD_STOP_AFTER_EPOCH: '1' }).status).toBe(1);
    const other = spawnSync('node', [path.join(install, 'bin/kd-pipeline.js'), 'stage', 'train-teacher'], { cwd: copy, encoding: 'utf8' });
    expect(other.status, other.stderr).toBe(0);
    expect(other.stderr).toMatch(/training code changed since the last checkpoint: starting over/);
    expect(other.stderr).not.toMatch(/resuming/);
  });

  it('distils with the mse loss on logits', () => {
    const copy = copyInputs(root, (p) => (p.student.loss = 'mse'));
    cpSync(path.join(root, 'artifacts/soft-labels'), path.join(copy, 'artifacts/soft-labels'), { recursive: true });
    ok(copy, 'train-student');
    const mse = json(copy, 'artifacts/metrics/student.json');
    expect(Number.isFinite(mse.val_loss)).toBe(true);
    expect(mse.val_loss).not.toBe(json(root, 'artifacts/metrics/student.json').val_loss);
  });

  it('trains with dropout on the pooled features and saves the student without it; train_by_size sets the size\'s schedule for student and baseline', async () => {
    const copy = copyInputs(root, (p) => {
      p.student.model.dropout = 0.5;
      p.student.train_by_size = { tiny: { epochs: 1 }, base: { epochs: 5 } };
    });
    cpSync(path.join(root, 'artifacts/soft-labels'), path.join(copy, 'artifacts/soft-labels'), { recursive: true });
    ok(copy, 'train-student');
    ok(copy, 'train-baseline');
    for (const name of ['student', 'baseline']) {
      expect(json(copy, `artifacts/metrics/${name}.json`).epochs_run).toBe(1);
      expect(readFileSync(path.join(copy, 'artifacts', name, 'model.json'), 'utf8')).not.toMatch(/Dropout/);
    }
    const model = await loadClassifier(path.join(copy, 'artifacts/student'), { root: copy, vocab: json(copy, 'artifacts/vocab.json'), maxLen: 16 });
    expect(model.paramCount).toBe(json(root, 'artifacts/metrics/student.json').params);
    expect((await model.predictLogits([{ text: 'good film', tokens: ['good', 'film'] }]))[0]).toHaveLength(2);
  });

  it('labels mix_copies mixed sentences per training sentence besides the augmented copies', () => {
    const copy = copyInputs(root, (p) => (p.soft_labels.augment.mix_copies = 1));
    cpSync(path.join(root, 'artifacts/teacher'), path.join(copy, 'artifacts/teacher'), { recursive: true });
    ok(copy, 'generate-soft-labels');
    const train = json(root, 'artifacts/metrics/data.json').train;
    const { rows, meta } = readTransferSet(path.join(copy, 'artifacts/soft-labels'));
    expect(meta).toMatchObject({ original: train, augmented: 3 * train });
    // The copies are those of the run without mixed sentences; the mixed ones follow them.
    const before = readTransferSet(path.join(root, 'artifacts/soft-labels')).rows;
    expect(rows.slice(0, 3 * train).map((row) => row.text)).toEqual(before.map((row) => row.text));
    expect(rows.slice(3 * train).every((row) => row.y === null && row.tokens.length > 0)).toBe(true);
  });

  it('labels the student size\'s count of copies when soft_labels.augment.copies gives one per size', () => {
    const train = json(root, 'artifacts/metrics/data.json').train;
    for (const [size, copies] of [['tiny', 1], ['small', 3]] as const) {
      const copy = copyInputs(root, (p) => {
        p.soft_labels.augment.copies = { tiny: 1, small: 3, base: 2 };
        p.student.size = size;
      });
      cpSync(path.join(root, 'artifacts/teacher'), path.join(copy, 'artifacts/teacher'), { recursive: true });
      ok(copy, 'generate-soft-labels');
      expect(readTransferSet(path.join(copy, 'artifacts/soft-labels')).meta, size).toMatchObject({ original: train, augmented: copies * train });
    }
  });

  it('rejects a bad params value with one message naming the key, writing nothing', () => {
    const copy = copyInputs(root, (p) => (p.teacher.members = ['cnn', 'lstm']));
    const result = stage(copy, 'train-teacher');
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/params\.yaml: teacher\.members\[1\]: /);
    expect(existsSync(path.join(copy, 'artifacts/teacher'))).toBe(false);
    expect(existsSync(path.join(copy, 'artifacts/checkpoints'))).toBe(false);
    expect(existsSync(path.join(copy, 'artifacts/metrics/teacher.json'))).toBe(false);
  });

  it('refuses a bad student size, tokenizer or architecture key, or one over its size\'s budget, in one message, writing nothing', () => {
    const cases: [(p: Params) => void, RegExp][] = [
      [(p) => (p.student.size = 'huge'), /^kd-pipeline: error: params\.yaml: student\.size: .*"tiny"\|"small"\|"base"/m],
      [(p) => (p.student.tokenizer = 'bpe'), /^kd-pipeline: error: params\.yaml: student\.tokenizer: .*"encoder"\|"words"/m],
      [(p) => (p.student.model = { arch: 'rnn' }), /^kd-pipeline: error: params\.yaml: student\.model\.arch: .*"pool"\|"cnn"/m],
      [(p) => (p.student.model = { layers: 2 }), /^kd-pipeline: error: params\.yaml: student\.model: .*"layers"/m],
      [(p) => (p.soft_labels.augment.mix_copies = -1), /^kd-pipeline: error: params\.yaml: soft_labels\.augment\.mix_copies: /m],
      [(p) => (p.soft_labels.augment.copies = { tiny: 5 }), /^kd-pipeline: error: params\.yaml: soft_labels\.augment\.copies: expected a count \(an integer ≥ 0\), or one per student size: \{tiny: …, small: …, base: …\}$/m],
      [(p) => (p.student.init_penalty = { tiny: 1, small: 0 }), /^kd-pipeline: error: params\.yaml: student\.init_penalty: expected a weight ≥ 0, or one per student size: \{tiny: …, small: …, base: …\}$/m],
      [(p) => (p.student.init_penalty = -1), /^kd-pipeline: error: params\.yaml: student\.init_penalty: Too small: expected number to be >=0$/m],
      [(p) => (p.student.train.ema_momentum = 1), /^kd-pipeline: error: params\.yaml: student\.train\.ema_momentum: /m],
      [(p) => (p.student.train_by_size = { tiny: { ema_momentum: -0.5 } }), /^kd-pipeline: error: params\.yaml: student\.train_by_size\.tiny\.ema_momentum: /m],
      [(p) => (p.student.model = { dropout: 1 }), /^kd-pipeline: error: params\.yaml: student\.model\.dropout: /m],
      [(p) => (p.student.train_by_size = { huge: { epochs: 1 } }), /^kd-pipeline: error: params\.yaml: student\.train_by_size: .*"huge"/m],
      [(p) => (p.student.train_by_size = { base: { learning_rate: -1 } }), /^kd-pipeline: error: params\.yaml: student\.train_by_size\.base\.learning_rate: /m],
      [
        (p) => (p.student.tokenizer = 'encoder'),
        /^kd-pipeline: error: params\.yaml: student\.tokenizer: encoder reads the teacher's own tokenizer, but teacher\.members has no transformer \(no encoder\): add one, or set student\.tokenizer: words$/m,
      ],
      [
        (p) => (p.student.model = { embedding_dim: 2000 }),
        /^kd-pipeline: error: params\.yaml: student\.size tiny allows at most 226,000 parameters, but this student has [\d,]+ \(150 words × embedding_dim 2000, 32 filters × kernel_sizes \[1, 2, 3\]\); set by student\.model\.embedding_dim: lower student\.model\.embedding_dim \(or vocab\.max_size\), or pick a larger student\.size$/m,
      ],
    ];
    for (const [edit, message] of cases) {
      const copy = copyInputs(root, edit);
      cpSync(path.join(root, 'artifacts/soft-labels'), path.join(copy, 'artifacts/soft-labels'), { recursive: true });
      for (const name of ['train-student', 'train-baseline']) {
        const result = stage(copy, name);
        expect(result.status, result.stderr).toBe(1);
        expect(result.stderr).toMatch(message);
        expect(result.stderr.trim().split('\n')).toHaveLength(1);
      }
      for (const out of ['artifacts/student', 'artifacts/baseline', 'artifacts/checkpoints', 'artifacts/metrics']) expect(existsSync(path.join(copy, out)), out).toBe(false);
    }
  });
});
