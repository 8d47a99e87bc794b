import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cliEnv } from '../pipeline/harness.js';
import { tinyFlags, tinyProject } from './tiny-settings.js';
import { execa } from 'execa';

const REPO = join(import.meta.dirname, '..', '..');
/** 384 float32s after a 32-byte key: one record of the default encoder's embedding cache. */
const RECORD_BYTES = 32 + 384 * 4;

async function kd(root: string, args: string[]) {
  const result = await execa(process.execPath, [CLI, ...args], { cwd: root, env: cliEnv(), reject: false, maxBuffer: 1 << 26 });
  return { code: result.exitCode ?? 1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** Stage → result of a `run --json`. */
async function run(root: string, args: string[]) {
  const result = await kd(root, ['run', '--json', ...args]);
  expect(result.code, result.stderr.slice(-2000)).toBe(0);
  return { results: Object.fromEntries((JSON.parse(result.stdout) as { stages: { name: string; result: string }[] }).stages.map((s) => [s.name, s.result])), stderr: result.stderr };
}

const ran = (results: Record<string, string>) => Object.entries(results).filter(([, r]) => r === 'ran').map(([name]) => name);

/** Records in the embedding cache's segment files: every text encoded and cached so far. */
function cachedRecords(root: string): number {
  const dir = join(root, '.kd', 'embeddings');
  if (!existsSync(dir)) return 0;
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((file) => file.endsWith('.seg'))
    .reduce((sum, file) => sum + statSync(join(dir, file)).size / RECORD_BYTES, 0);
}

const testSentences = (root: string) =>
  readFileSync(join(root, 'artifacts/data/test.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as { text: string }).text);

/**
 * A failed or interrupted stage writes nothing: the engine removed its outs before it ran (the
 * lock and the cache still hold the last good ones, restored by the next run) and no partial
 * output or temp folder is left beside them.
 */
function wroteNothing(root: string, out: string, before: Buffer | null): boolean {
  const file = join(root, out);
  const leftovers = readdirSync(join(root, 'artifacts'), { recursive: true }).map(String).filter((name) => /\.(tmp|old)-/.test(name));
  return leftovers.length === 0 && (!existsSync(file) || (before !== null && readFileSync(file).equals(before)));
}

const meta = (root: string) => JSON.parse(readFileSync(join(root, 'artifacts/soft-labels/meta.json'), 'utf8')) as Record<string, any>;

describe('unlabelled text as the transfer set (soft_labels.unlabeled), through `kd-pipeline run`', () => {
  let root: string;
  beforeAll(async () => {
    root = tinyProject();
    await run(root, tinyFlags());
  }, 300_000);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('adding a file reruns generate-soft-labels and what it reaches only; leaked, duplicate and empty rows are dropped and counted', async () => {
    const [leakA, leakB] = testSentences(root);
    const fresh = ['A quiet film with a lovely score', 'The battery died after one day', 'Staff were friendly and quick'];
    writeFileSync(join(root, 'extra.txt'), [fresh[0], leakA, '', fresh[1], fresh[0]!.toUpperCase(), leakB, fresh[2], ''].join('\n'));
    const { results } = await run(root, ['--set', 'soft_labels.unlabeled.path=extra.txt']);
    expect(ran(results)).toEqual(['generate-soft-labels', 'train-student', 'evaluate', 'export']);
    expect(meta(root).sources).toEqual([{ file: 'extra.txt', rows: 7, kept: 3, empty: 1, duplicates: 1, leaked: 2 }]);
    const metrics = JSON.parse(readFileSync(join(root, 'artifacts/metrics.json'), 'utf8')) as Record<string, number>;
    expect(metrics['transfer.unlabelled']).toBe(3);
    expect(metrics['transfer.teacher_agreement']).toBeGreaterThan(0.5);
    expect(readFileSync(join(root, 'artifacts/report/index.html'), 'utf8')).toContain('Transfer set');

    // New text in the same file is a changed dep: the same stages again, nothing upstream.
    writeFileSync(join(root, 'extra.txt'), `${readFileSync(join(root, 'extra.txt'), 'utf8')}One more unseen sentence about soup\n`);
    expect(ran((await run(root, [])).results)).toEqual(['generate-soft-labels', 'train-student', 'evaluate', 'export']);
    expect(meta(root).unlabeled).toBe(4);
  }, 300_000);

  it('each bad file fails with one message naming the file (and line), leaving the transfer set as it was', async () => {
    const before = readFileSync(join(root, 'artifacts/soft-labels/transfer.jsonl'));
    const bad: [string, string | Buffer, string][] = [
      ['no-column.csv', 'review,stars\nGreat stuff,5\n', 'no-column.csv:1: no column "text" (header: review,stars)'],
      ['binary.txt', Buffer.from([0x47, 0x6f, 0x6f, 0x64, 0x0a, 0x00, 0x01, 0x02]), 'binary.txt:2: binary data'],
      ['empty.txt', '', 'empty.txt: the file is empty'],
      ['latin1.txt', Buffer.concat([Buffer.from('fine\nalso fine\ncaf'), Buffer.from([0xe9]), Buffer.from('\n')]), 'latin1.txt:3: not valid UTF-8'],
      ['broken.jsonl', '{"text": "ok"}\n{"text": \n', 'broken.jsonl:2: not valid JSON'],
    ];
    for (const [file, content, message] of bad) {
      writeFileSync(join(root, file), content);
      const result = await kd(root, ['run', '--set', `soft_labels.unlabeled.path=${file}`]);
      expect(result.code, file).not.toBe(0);
      expect(result.stderr, file).toContain(message);
      expect(wroteNothing(root, 'artifacts/soft-labels/transfer.jsonl', before), file).toBe(true);
    }
    const missing = await kd(root, ['run', '--set', 'soft_labels.unlabeled.path=[extra.txt, nowhere.txt]']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("params.yaml: soft_labels.unlabeled.path: 'nowhere.txt' does not exist");
  }, 300_000);

  it('a run interrupted half-way through the encoding re-encodes nothing it had encoded', async () => {
    // 1,200 sentences of the embedded set the tiny project does not hold (it keeps every 10th row): chunks of 500.
    const rows = parse(readFileSync(join(REPO, 'data/sentiment-labelled-sentences.csv')), { columns: true }) as { text: string }[];
    const big = rows.filter((_, i) => i % 10 !== 0).slice(0, 1200);
    writeFileSync(join(root, 'big.txt'), `${big.map((r) => r.text.replace(/\s+/g, ' ')).join('\n')}\n`);
    const cachedBefore = cachedRecords(root);
    // Only as far as generate-soft-labels: what comes after it is not what this test is about.
    const child = spawn(process.execPath, [CLI, 'run', 'generate-soft-labels', '--set', 'soft_labels.unlabeled.path=big.txt'], { cwd: root, env: cliEnv(), detached: true, stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    // Ctrl-C (the whole process group) once the first chunk of unlabelled sentences is cached.
    while (cachedRecords(root) === cachedBefore) await new Promise((resolve) => setTimeout(resolve, 100));
    process.kill(-child.pid!, 'SIGINT');
    await exited;
    const cachedByFirst = cachedRecords(root) - cachedBefore;
    expect(wroteNothing(root, 'artifacts/soft-labels/transfer.jsonl', null)).toBe(true);

    const { stderr } = await run(root, ['generate-soft-labels']);
    const [, encoded, cached] = /unlabelled: (\d+) encoded, (\d+) from the embedding cache/.exec(stderr) ?? [];
    const kept = meta(root).unlabeled as number;
    expect(Number(cached)).toBe(cachedByFirst);
    expect(Number(encoded)).toBe(kept - cachedByFirst);
    expect(Number(encoded)).toBeGreaterThan(0);
    expect(stderr).toMatch(/unlabelled text: [\d,]+\/[\d,]+ sentences, \d+\/s, ETA/);
  }, 300_000);
});

describe('data.label_fraction', () => {
  let root: string;
  beforeAll(() => {
    root = tinyProject();
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const perClass = (file: string) => {
    const counts: Record<string, number> = {};
    for (const line of readFileSync(join(root, 'artifacts/data', file), 'utf8').trim().split('\n')) {
      const { label } = JSON.parse(line) as { label: string };
      counts[label] = (counts[label] ?? 0) + 1;
    }
    return counts;
  };

  it('keeps a stratified share of the training labels and gives the rest to the transfer set as text', async () => {
    await run(root, ['preprocess']);
    const all = readFileSync(join(root, 'artifacts/data/train.jsonl'), 'utf8').trim().split('\n');
    const full = perClass('train.jsonl');
    await run(root, ['preprocess', '--set', 'data.label_fraction=0.25']);
    const kept = perClass('train.jsonl');
    for (const [label, n] of Object.entries(full)) expect(kept[label], label).toBe(Math.round(n * 0.25));
    const aside = readFileSync(join(root, 'artifacts/data/unlabeled.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(aside.every((row) => !('label' in row) && !('y' in row))).toBe(true);
    const texts = (lines: string[]) => lines.map((line) => (JSON.parse(line) as { text: string }).text).sort();
    expect([...texts(readFileSync(join(root, 'artifacts/data/train.jsonl'), 'utf8').trim().split('\n')), ...aside.map((row) => row.text as string)].sort()).toEqual(texts(all));
  }, 120_000);

  it('a fraction outside (0, 1] or one that leaves a class under 2 labels is refused by key, nothing written', async () => {
    const before = readFileSync(join(root, 'artifacts/data/train.jsonl'));
    for (const [value, message] of [
      ['0', 'params.yaml: data.label_fraction: must be above 0'],
      ['1.5', 'params.yaml: data.label_fraction: must be at most 1'],
      ['0.01', 'params.yaml: data.label_fraction: 0.01 leaves class'],
    ]) {
      const result = await kd(root, ['run', 'preprocess', '--set', `data.label_fraction=${value}`]);
      expect(result.code, value).not.toBe(0);
      expect(result.stderr, value).toContain(message);
      expect(wroteNothing(root, 'artifacts/data/train.jsonl', before), value).toBe(true);
    }
  }, 120_000);
});

describe('kd-pipeline init --unlabeled', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
  const folder = () => {
    const dir = mkdtempSync(join(tmpdir(), 'kd-init-unlabeled-'));
    dirs.push(dir);
    return dir;
  };

  it('writes soft_labels.unlabeled into params.yaml after reading the file whole', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'more.jsonl'), '{"text": "Lovely day"}\n{"text": "lovely day"}\n\n{"text": "Awful food"}\n');
    const result = await kd(dir, ['init', 'project', '--unlabeled', 'more.jsonl', '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect((JSON.parse(result.stdout) as { unlabeled: unknown }).unlabeled).toEqual({ path: 'data/more.jsonl', copiedFrom: 'more.jsonl', rows: 4, sentences: 2, emptyRows: 1, duplicates: 1 });
    expect(readFileSync(join(dir, 'project/params.yaml'), 'utf8')).toMatch(/unlabeled:.*\n\s+path: data\/more\.jsonl/);
  });

  it('a bad file is refused naming it and its line, and nothing is written', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'rows.jsonl'), '{"text": "fine"}\n{"body": "no text field"}\n');
    const result = await kd(dir, ['init', 'project', '--unlabeled', 'rows.jsonl']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('rows.jsonl:2: no field "text"');
    const missing = await kd(dir, ['init', 'project', '--unlabeled', 'nowhere.csv']);
    expect(missing.stderr).toContain('nowhere.csv: no such file');
    expect(existsSync(join(dir, 'project'))).toBe(false);
  });
});
