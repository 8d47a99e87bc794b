import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(REPO, 'bin/kd-pipeline.js');
const made: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kd-init-'));
  made.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
const kd = (cwd: string, ...args: string[]) => spawnSync('node', [CLI, ...args], { cwd, encoding: 'utf8' });
const read = (file: string) => readFileSync(file, 'utf8');
const yaml = (file: string) => parse(read(file));

/** Reviews whose label is the site they come from, under other column names than the defaults. */
const CSV = ['id,Bewertung,Quelle', ...Array.from({ length: 24 }, (_, i) => `${i},"review number ${i}, très bien",${['Amazon (Produkte)', 'IMDb — Filme', 'Yelp'][i % 3]}`)].join('\n');

describe('kd-pipeline init', () => {
  it('sets up the embedded example: the default pipeline and params, the data and its attribution', () => {
    const cwd = tempDir();
    const result = kd(cwd, 'init');
    expect(result.status, result.stderr).toBe(0);
    for (const file of ['pipeline.yaml', 'params.yaml', 'data/sentiment-labelled-sentences.csv', 'data/README.md']) {
      expect(existsSync(path.join(cwd, file)), file).toBe(true);
    }
    // Byte for byte the defaults, comments and layout included, but for the experiment name.
    expect(read(path.join(cwd, 'params.yaml'))).toBe(read(path.join(REPO, 'params.yaml')));
    expect(read(path.join(cwd, 'pipeline.yaml'))).toBe(read(path.join(REPO, 'pipeline.yaml')).replace(/experiment: .*/, `experiment: ${path.basename(cwd)}`));
    expect(read(path.join(cwd, 'data/sentiment-labelled-sentences.csv'))).toBe(read(path.join(REPO, 'data/sentiment-labelled-sentences.csv')));
    // The top folders of the default pipeline's outs.
    expect(read(path.join(cwd, '.gitignore'))).toBe('artifacts/\nmodels/\n');
    expect(result.stdout).toMatch(/3,000 rows, text in "text", label in "label", 3 empty rows to be dropped/);
    expect(result.stdout).toMatch(/ {2}negative +1,500 +50\.0 %\n {2}positive +1,500 +50\.0 %/);
    expect(result.stdout).toMatch(/Next:\n {2}npx kd-pipeline run\n/);
    expect(kd(cwd, 'status', '--json').status).toBe(0);
  });

  it('writes params for a custom CSV with the three column options, checks it and prints the class balance', () => {
    const cwd = tempDir();
    writeFileSync(path.join(cwd, 'reviews.csv'), `${CSV}\n`);
    const result = kd(cwd, 'init', 'project', '--data', 'reviews.csv', '--text-column', 'Bewertung', '--label-column', 'Quelle', '--json');
    expect(result.status, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out).toMatchObject({
      files: ['pipeline.yaml', 'params.yaml', 'data/reviews.csv', '.gitignore'],
      data: { path: 'data/reviews.csv', copiedFrom: 'reviews.csv', textColumn: 'Bewertung', labelColumn: 'Quelle', rows: 24, emptyRows: 0, classes: { 'Amazon (Produkte)': 8, 'IMDb — Filme': 8, Yelp: 8 } },
      next: ['cd project', 'npx kd-pipeline run', 'open artifacts/report/index.html', 'npx kd-pipeline predict --file data/reviews.csv --text-column Bewertung --out predictions.csv'],
    });
    expect(out.warnings).toEqual(['class "Amazon (Produkte)" has only 8 rows: the validation and test splits may miss it', 'class "IMDb — Filme" has only 8 rows: the validation and test splits may miss it', 'class "Yelp" has only 8 rows: the validation and test splits may miss it']);
    const dir = path.join(cwd, 'project');
    expect(yaml(path.join(dir, 'params.yaml')).data).toMatchObject({ path: 'data/reviews.csv', text_column: 'Bewertung', label_column: 'Quelle' });
    // Only those three lines differ from the defaults: comments and layout are kept.
    const changed = read(path.join(dir, 'params.yaml')).split('\n').filter((line, i) => line !== read(path.join(REPO, 'params.yaml')).split('\n')[i]);
    expect(changed).toEqual(['  path: data/reviews.csv', '  text_column: Bewertung', '  label_column: Quelle']);
    expect(yaml(path.join(dir, 'pipeline.yaml')).tracking.experiment).toBe('project');
  });

  it('uses a data file inside the project where it is, and quotes a column name YAML would read as another type', () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'in'));
    writeFileSync(path.join(dir, 'in/rows.jsonl'), `${['a', 'b', 'a', 'b'].map((label, i) => JSON.stringify({ 'my text': `sentence ${i}`, true: label })).join('\n')}\n`);
    const result = kd(dir, 'init', '--data', 'in/rows.jsonl', '--text-column', 'my text', '--label-column', 'true');
    expect(result.status, result.stderr).toBe(0);
    expect(yaml(path.join(dir, 'params.yaml')).data).toMatchObject({ path: 'in/rows.jsonl', text_column: 'my text', label_column: 'true' });
    expect(read(path.join(dir, 'params.yaml'))).toContain('  label_column: "true"');
    expect(existsSync(path.join(dir, 'data'))).toBe(false);
    expect(result.stdout).toContain("npx kd-pipeline predict --file in/rows.jsonl --text-column 'my text' --out predictions.csv");
  });

  it('refuses to overwrite an existing project unless --force', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'params.yaml'), 'seed: 1 # mine\n');
    writeFileSync(path.join(dir, 'reviews.csv'), `${CSV}\n`);
    const refused = kd(dir, 'init', '--data', 'reviews.csv', '--text-column', 'Bewertung', '--label-column', 'Quelle');
    expect(refused.status).toBe(1);
    expect(refused.stderr.trim()).toBe('kd-pipeline: error: init: params.yaml already exists; pass --force to overwrite');
    expect(read(path.join(dir, 'params.yaml'))).toBe('seed: 1 # mine\n');
    expect(existsSync(path.join(dir, 'pipeline.yaml'))).toBe(false);

    const forced = kd(dir, 'init', '--data', 'reviews.csv', '--text-column', 'Bewertung', '--label-column', 'Quelle', '--force');
    expect(forced.status, forced.stderr).toBe(0);
    expect(yaml(path.join(dir, 'params.yaml')).data.path).toBe('reviews.csv');
    expect(kd(dir, 'init', '--data', 'reviews.csv').stderr).toMatch(/pipeline\.yaml and params\.yaml already exist; pass --force/);
  });

  it('checks the data before writing anything: a missing column, one class, a missing file', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'reviews.csv'), `${CSV}\n`);
    const noColumn = kd(dir, 'init', '--data', 'reviews.csv', '--label-column', 'Quelle');
    expect(noColumn.status).toBe(1);
    expect(noColumn.stderr.trim()).toBe('kd-pipeline: error: reviews.csv:1: no column "text" (header: id,Bewertung,Quelle); pass --text-column/--label-column');
    writeFileSync(path.join(dir, 'one.csv'), 'text,label\nhello,a\nworld,a\n');
    expect(kd(dir, 'init', '--data', 'one.csv').stderr).toMatch(/one\.csv: only one class \("a"\) in column "label"; a classifier needs at least two/);
    expect(kd(dir, 'init', '--data', 'nope.csv').stderr).toMatch(/init: --data nope\.csv: no such file/);
    expect(existsSync(path.join(dir, 'params.yaml'))).toBe(false);
    expect(existsSync(path.join(dir, 'pipeline.yaml'))).toBe(false);
  });
});
