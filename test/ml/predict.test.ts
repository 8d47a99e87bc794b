import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeExport, writeUint8Variant } from '../serve/export-fixture.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(REPO, 'bin/kd-pipeline.js');
const predict = (...args: string[]) => spawnSync('node', [CLI, 'predict', ...args], { encoding: 'utf8' });
const predictStdin = (input: string, ...args: string[]) => spawnSync('node', [CLI, 'predict', ...args], { encoding: 'utf8', input });

describe('kd-pipeline predict', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await writeExport(path.join(mkdtempSync(path.join(tmpdir(), 'kd-predict-')), 'export'), 'fp-1');
    writeUint8Variant(dir);
  });

  // How fast is measured in docs/ml-data.md, not asserted here: a loaded CI machine is no measure.
  it('prints label and probabilities as JSON', () => {
    const result = predict('Ein schön guter Film!', '--model', dir, '--json');
    expect(result.status, result.stderr).toBe(0);
    const answer = JSON.parse(result.stdout);
    expect(answer.label).toBe('positive');
    expect(answer.probabilities.positive).toBeGreaterThan(0.9);
    expect(answer.probabilities.negative + answer.probabilities.positive).toBeCloseTo(1);
    expect(answer.model).toMatchObject({ name: 'kd-student', fingerprint: 'fp-1' });
  });

  it('prints a readable answer and uses a quantised variant', () => {
    const result = predict('awful, I hate it', '--model', dir, '--variant', 'uint8');
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^negative\n {2}negative\s+(0\.9\d+|1\.0000)\n {2}positive\s+0\.0\d+\n$/);
  });

  it('names a missing export or a bad variant', () => {
    expect(predict('x', '--model', path.join(tmpdir(), 'no-such-export')).stderr).toMatch(/no such export directory/);
    expect(predict('x', '--model', dir, '--variant', 'int4').stderr).toMatch(/--variant must be one of float16, uint8/);
  });
});

describe('kd-pipeline predict --file', () => {
  let dir: string;
  let work: string;
  const single = (text: string) => JSON.parse(predict(text, '--model', dir, '--json').stdout) as { label: string; probabilities: Record<string, number> };
  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'kd-predict-file-'));
    dir = await writeExport(path.join(work, 'export'), 'fp-file');
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('predicts every CSV row in batches, reports bad rows by line and still predicts the others', () => {
    const csv = [
      'id,text,gold',
      '1,I love this movie,positive',
      '2,"awful, I hate it",negative',
      '3,,negative', // empty text
      '4,"great,\nreally great",positive', // a quoted field over two lines
      '5,too,many,fields',
      '6,Schön!,positive',
      '7,bad bad movie,negative',
    ].join('\n');
    const file = path.join(work, 'reviews.csv');
    writeFileSync(file, `${csv}\n`);
    const out = path.join(work, 'out.csv');
    const result = predict('--file', file, '--model', dir, '--out', out, '--batch-size', '2');
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('predict: 7 rows → ');
    expect(result.stderr).toContain('5 predicted in 3 batches, 2 failed');
    expect(result.stderr).toContain(`${file}:4: empty text`);
    expect(result.stderr).toContain(`${file}:7: 4 fields, the header has 3`);
    expect(result.stderr).not.toContain('\r'); // progress only on a terminal

    const rows = parse(readFileSync(out, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!)).toEqual(['line', 'text', 'label', 'prob_negative', 'prob_positive', 'error']);
    expect(rows.map((r) => r.line)).toEqual(['2', '3', '4', '5', '7', '8', '9']);
    expect(rows.map((r) => r.label)).toEqual(['positive', 'negative', '', 'positive', '', 'positive', 'negative']);
    expect(rows[2]).toMatchObject({ text: '', error: 'empty text', prob_negative: '' });
    expect(rows[3]!.text).toBe('great,\nreally great');
    for (const row of rows.filter((r) => r.label !== '')) {
      const expected = single(row.text!);
      expect(row.label).toBe(expected.label);
      expect(Number(row.prob_positive)).toBeCloseTo(expected.probabilities.positive!, 5);
      expect(Number(row.prob_negative) + Number(row.prob_positive)).toBeCloseTo(1, 5);
    }
    expect(readdirSync(work).filter((name) => name.includes('.tmp-'))).toEqual([]);
  });

  it('reads JSON Lines with another text field and writes JSON Lines with --json', () => {
    const file = path.join(work, 'reviews.jsonl');
    const lines = [{ review: 'great movie' }, { review: 42 }, { review: 'awful' }, { text: 'no review field' }, { review: null }];
    writeFileSync(file, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n{not json\n`);
    const result = predict('--file', file, '--text-column', 'review', '--json', '--model', dir);
    expect(result.status).toBe(1);
    const out = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(out).toHaveLength(6);
    expect(out[0]).toMatchObject({ line: 1, text: 'great movie', label: 'positive' });
    expect(Object.keys(out[0].probabilities)).toEqual(['negative', 'positive']);
    expect(out[2]).toMatchObject({ line: 3, label: 'negative' });
    expect(out[1]).toEqual({ line: 2, error: '"review" is a number, not a string' });
    expect(out[3]).toEqual({ line: 4, error: 'no field "review" (pass --text-column)' });
    expect(out[4]).toEqual({ line: 5, error: '"review" is null, not a string' });
    expect(out[5].line).toBe(6);
    expect(out[5].error).toMatch(/^not valid JSON/);
    expect(result.stderr).toContain('6 rows: 2 predicted in 1 batch, 4 failed');
  });

  it('reads one text per line from stdin and exits 0 when every row is predicted', () => {
    const result = predictStdin('I love it\nawful movie\nSchön\n', '--file', '-', '--model', dir, '--json');
    expect(result.status, result.stderr).toBe(0);
    const out = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(out.map((r) => [r.line, r.label])).toEqual([[1, 'positive'], [2, 'negative'], [3, 'positive']]);
    const failed = predictStdin('good\n   \nbad\n', '--file', '-', '--model', dir);
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain('stdin:2: empty text');
    expect(failed.stdout.split('\n')[0]).toBe('line,text,label,prob_negative,prob_positive,error');
    expect(failed.stdout).toContain('3,bad,negative,');
  });

  it('refuses a CSV without the text column, naming the header, and writes nothing', () => {
    const file = path.join(work, 'other.csv');
    writeFileSync(file, 'id,review\n1,good\n');
    const out = path.join(work, 'never.csv');
    const result = predict('--file', file, '--model', dir, '--out', out);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`${file}:1: no column "text" in the header (id, review); pass --text-column`);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(work).filter((name) => name.includes('.tmp-'))).toEqual([]);
    expect(predict('--file', path.join(work, 'missing.csv'), '--model', dir).stderr).toMatch(/missing\.csv: no such file/);
    expect(predict('hello', '--file', file, '--model', dir).stderr).toMatch(/either a text or --file/);
  });

  it('shows progress on a terminal', () => {
    const file = path.join(work, 'many.txt');
    writeFileSync(file, `${Array.from({ length: 50 }, (_, i) => (i % 2 ? 'great movie' : 'awful')).join('\n')}\n`);
    // script(1) (util-linux, in every Debian) runs the command on a pseudo-terminal.
    const command = [CLI, 'predict', '--file', file, '--model', dir, '--out', path.join(work, 'many.csv')].map((a) => `'${a}'`).join(' ');
    const result = spawnSync('script', ['-qec', `node ${command}`, '/dev/null'], { encoding: 'utf8' });
    expect(result.status, result.stdout).toBe(0);
    expect(result.stdout).toMatch(/\r\x1b\[Kpredict: 50 rows · [\d,]+ rows\/s · 100 %/);
    expect(result.stdout).toContain('50 predicted in 1 batch, 0 failed');
  });

  it('leaves no output, not even a partial one, when interrupted', async () => {
    const out = path.join(work, 'interrupted.csv');
    const child = spawn('node', [CLI, 'predict', '--file', '-', '--model', dir, '--out', out, '--batch-size', '2'], { stdio: ['pipe', 'ignore', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.stdin.write('great movie\nawful\ngood\n');
    // stdin stays open: the command is mid-file when the temporary output exists and has rows in it.
    const tmp = () => readdirSync(work).find((name) => name.startsWith('interrupted.csv.tmp-'));
    while (!tmp() || readFileSync(path.join(work, tmp()!), 'utf8') === '') await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(existsSync(out)).toBe(false);
    expect(tmp()).toBeUndefined();
  });
});
