import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLabels, readSplit, readVocab } from '../../lib/ml/data/dataset.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(REPO, 'bin/kd-pipeline.js');

/** A temp project with the default params.yaml pointing at `data` (a file name under data/). */
function project(dataName: string, content: string, edit: (params: string) => string = (p) => p): string {
  const root = mkdtempSync(path.join(tmpdir(), 'kd-pre-'));
  copyFileSync(path.join(REPO, 'pipeline.yaml'), path.join(root, 'pipeline.yaml'));
  // encoder_words 0: build-vocab then needs no encoder (test/ml/transformer-teacher.test.ts covers the encoder's words).
  const params = readFileSync(path.join(REPO, 'params.yaml'), 'utf8')
    .replace(/path: data\/\S+/, `path: data/${dataName}`)
    .replace(/encoder_words: \d+/, 'encoder_words: 0');
  writeFileSync(path.join(root, 'params.yaml'), edit(params));
  mkdirSync(path.join(root, 'data'));
  writeFileSync(path.join(root, 'data', dataName), content);
  return root;
}

const stage = (root: string, name: string) => spawnSync('node', [CLI, 'stage', name], { cwd: root, encoding: 'utf8' });

describe('preprocess and build-vocab stages', () => {

  it('writes stratified splits, labels, data metrics and a vocab, reporting duplicates and empty rows by line', () => {
    const rows = ['review,stars'];
    for (let i = 0; i < 20; i++) rows.push(`"Film ${i} war schön!",gut`, `"Film ${i}, était nul",schlecht`, `Film ${i} so lala,mittel`);
    rows.push('"Film 0 war schön!",gut', ',gut');
    const root = project('reviews.csv', `${rows.join('\n')}\n`, (p) => p.replace('text_column: text', 'text_column: review').replace('label_column: label', 'label_column: stars'));

    const pre = stage(root, 'preprocess');
    expect(pre.status, pre.stderr).toBe(0);
    expect(pre.stderr).toMatch(/1 empty row\(s\) dropped, line\(s\) 63/);
    expect(pre.stderr).toMatch(/1 duplicate row\(s\) dropped, line\(s\) 62 \(= 2\)/);

    expect(readLabels(path.join(root, 'artifacts/data/labels.json'))).toEqual(['gut', 'mittel', 'schlecht']);
    const train = readSplit(path.join(root, 'artifacts/data/train.jsonl'));
    const test = readSplit(path.join(root, 'artifacts/data/test.jsonl'));
    expect(test.filter((e) => e.label === 'gut')).toHaveLength(4);
    expect(train.find((e) => e.label === 'gut')?.tokens).toContain('schön');
    expect(train.every((e) => ['gut', 'mittel', 'schlecht'][e.y] === e.label)).toBe(true);
    const metrics = JSON.parse(readFileSync(path.join(root, 'artifacts/metrics/data.json'), 'utf8'));
    expect(metrics).toMatchObject({ examples: 60, classes: 3, duplicates: 1, empty_rows: 1, train: 42, val: 6, test: 12 });

    expect(stage(root, 'build-vocab').status).toBe(0);
    const vocab = readVocab(path.join(root, 'artifacts/vocab.json'));
    expect(vocab).toMatchObject({ '<pad>': 0, '<unk>': 1, film: 2 });
  });

  it('fails with one message naming file and line and writes nothing on bad input', () => {
    const root = project('bad.csv', 'text,label\ngood,pos\nbad,\n');
    const result = stage(root, 'preprocess');
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe('kd-pipeline: error: data/bad.csv:3: empty label in column "label"');
    expect(existsSync(path.join(root, 'artifacts'))).toBe(false);
  });

  it('rejects an unknown stage name', () => {
    const result = stage(tmpdir(), 'train-everything');
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/unknown stage "train-everything" \(known: encoder, preprocess, build-vocab/);
  });
});
