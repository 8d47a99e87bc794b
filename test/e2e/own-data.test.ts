import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(REPO, 'bin/kd-pipeline.js');
const CHROMIUM = '/usr/bin/chromium';
const exec = promisify(execFile);

/** The site each review comes from, as a three-class task, with labels that stress the report's layout. */
const SITES: Record<string, string> = { amazon: 'Amazon (Produkte)', imdb: 'IMDb — Filme', yelp: 'Yelp: Restaurants' };

/**
 * Small settings so the run takes seconds (as test/e2e/default-pipeline.test.ts): the default
 * pretrained encoder from the folder the test environment fetched, with a tiny CNN beside it, so
 * the teacher is an ensemble and its curves have a line per member.
 */
const TINY = [
  `teacher.transformer.model=${path.join(REPO, 'models', 'encoder')}`,
  'teacher.transformer.head.train.epochs=3',
  'teacher.members=[transformer, cnn]',
  'teacher.embedding_dim=8',
  'teacher.cnn.filters=8',
  'teacher.cnn.kernel_sizes=[3]',
  'teacher.hidden=0',
  'teacher.train.epochs=3',
  'text.max_len=16',
  'vocab.encoder_words=300',
  '+student.model.embedding_dim=4',
  'student.train.epochs=3',
  'student.train_by_size.tiny.epochs=3',
  'soft_labels.augment.copies=1',
  'evaluate.latency_runs=5',
  'evaluate.throughput_batch=16',
];

async function kd(cwd: string, args: string[]) {
  const env = { ...process.env };
  delete env.MLFLOW_TRACKING_URI;
  return exec(process.execPath, [CLI, ...args], { cwd, env, maxBuffer: 1 << 26 });
}

/** Every 10th review of the embedded data under other column names, labelled by site. */
function writeReviews(file: string): Record<string, string>[] {
  const rows = parse(readFileSync(path.join(REPO, 'data/sentiment-labelled-sentences.csv')), { columns: true }) as Record<string, string>[];
  const sample = rows.filter((_, i) => i % 10 === 0).map((row, i) => ({ id: String(i), Bewertung: row.text!, Quelle: SITES[row.source!]! }));
  writeFileSync(file, stringify(sample, { header: true }));
  return sample;
}

interface PageReport {
  overflow: number;
  charts: { id: string; width: number; right: number }[];
  clipped: string[];
  overlapping: string[];
  tables: { right: number; cells: string[] }[];
  text: string;
}

/** What a reader would notice on the page at the current width: overflow, charts, clipped or colliding text, table cells. */
function inspect(): PageReport {
  const root = document.documentElement;
  const charts = [...document.querySelectorAll<SVGSVGElement>('svg[data-chart]')];
  const clipped: string[] = [];
  const overlapping: string[] = [];
  for (const svg of charts) {
    const box = svg.getBoundingClientRect();
    const texts = [...svg.querySelectorAll('text')].map((t) => ({ text: t.textContent ?? '', r: t.getBoundingClientRect() }));
    for (const { text, r } of texts) {
      if (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5) clipped.push(`${svg.dataset.chart}: "${text}"`);
    }
    texts.forEach((a, i) =>
      texts.slice(i + 1).forEach((b) => {
        const w = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
        const h = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
        if (w > 1 && h > 1) overlapping.push(`${svg.dataset.chart}: "${a.text}" / "${b.text}"`);
      }),
    );
  }
  return {
    overflow: root.scrollWidth - root.clientWidth,
    charts: charts.map((svg) => ({ id: svg.dataset.chart!, width: svg.getBoundingClientRect().width, right: svg.getBoundingClientRect().right })),
    clipped,
    overlapping,
    tables: [...document.querySelectorAll('table')].map((t) => ({ right: t.getBoundingClientRect().right, cells: [...t.querySelectorAll('td')].map((td) => td.textContent ?? '') })),
    text: document.body.innerText,
  };
}

describe('your own data: init, run, the report in a browser, predictions for a file', () => {
  let cwd: string;
  let project: string;
  let sample: Record<string, string>[];
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (scripts/test-env.mjs does it for npm test)`);
    cwd = mkdtempSync(path.join(tmpdir(), 'kd-own-'));
    sample = writeReviews(path.join(cwd, 'reviews.csv'));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'] });
  });
  afterAll(async () => {
    await browser?.close();
    rmSync(cwd, { recursive: true, force: true });
  });

  it('init with the three column options, then `kd-pipeline run` with tiny epochs trains, evaluates and exports', async () => {
    const init = await kd(cwd, ['init', 'sites', '--data', 'reviews.csv', '--text-column', 'Bewertung', '--label-column', 'Quelle']);
    expect(init.stdout).toContain('3 classes:');
    expect(init.stdout).toMatch(/Amazon \(Produkte\) +10\d/);
    project = path.join(cwd, 'sites');
    const run = await kd(project, ['run', '--json', ...TINY.flatMap((s) => ['--set', s])]);
    const stages = (JSON.parse(run.stdout) as { stages: { name: string; result: string }[] }).stages;
    expect(stages.filter((s) => s.result !== 'ran')).toEqual([]);
    expect(JSON.parse(readFileSync(path.join(project, 'artifacts/export/labels.json'), 'utf8'))).toEqual(Object.values(SITES).sort());
  }, 600_000);

  it('writes a report with trade-offs, curves of every trained model, calibration and confusion charts', () => {
    const report = path.join(project, 'artifacts/report');
    const svgs = readdirSync(report).filter((name) => name.endsWith('.svg'));
    const expected = [
      'tradeoff-params',
      'tradeoff-size',
      'tradeoff-latency',
      ...['teacher', 'student', 'baseline'].flatMap((m) => [`history-${m}-loss`, `history-${m}-accuracy`, `reliability-${m}`, `confusion-${m}`]),
    ];
    for (const id of expected) expect(svgs, id).toContain(`${id}.svg`);
    // The teacher's two members each have a training and a validation curve.
    const teacherLoss = readFileSync(path.join(report, 'history-teacher-loss.svg'), 'utf8');
    for (const label of ['member 1 training', 'member 1 validation', 'member 2 training', 'member 2 validation']) expect(teacherLoss).toContain(`>${label}<`);
    const tradeoff = readFileSync(path.join(report, 'tradeoff-params.svg'), 'utf8');
    for (const model of ['teacher', 'student', 'baseline', 'student float16', 'student uint8']) expect(tradeoff).toContain(`>${model}<`);
    const metrics = JSON.parse(readFileSync(path.join(project, 'artifacts/metrics.json'), 'utf8')) as Record<string, number>;
    expect(metrics['student_uint8.size_bytes']).toBeLessThan(metrics['student_float16.size_bytes']!);
    expect(metrics['student_float16.size_bytes']).toBeLessThan(metrics['student.size_bytes']!);
    expect(metrics['student_uint8.params']).toBe(metrics['student.params']);
    expect(readFileSync(path.join(report, 'report.md'), 'utf8')).toContain('![Accuracy vs parameters](tradeoff-params.svg)');
  });

  for (const [device, width] of [['desktop', 1280], ['phone', 390]] as const) {
    it(`shows the report in Chromium on a ${device} (${width} px): every chart, nothing clipped or overflowing, numbers for people`, async () => {
      const page = await browser.newPage({ viewport: { width, height: 900 } });
      const errors: string[] = [];
      page.on('console', (message) => void (message.type() === 'error' && errors.push(message.text())));
      page.on('pageerror', (error) => void errors.push(error.message));
      // Everything is in the page: a request leaving it would be a dependency on the network at view time.
      const requests: string[] = [];
      page.on('request', (request) => void requests.push(request.url()));
      const url = pathToFileURL(path.join(project, 'artifacts/report/index.html')).href;
      await page.goto(url);
      const seen = await page.evaluate(inspect);
      mkdirSync(path.join(REPO, 'test-results'), { recursive: true });
      await page.screenshot({ path: path.join(REPO, 'test-results', `report-${width}.png`), fullPage: true });
      await page.close();

      expect(errors).toEqual([]);
      expect(requests).toEqual([url]);
      expect(seen.overflow).toBe(0);
      const files = readdirSync(path.join(project, 'artifacts/report')).filter((name) => name.endsWith('.svg')).map((name) => name.slice(0, -4));
      expect(seen.charts.map((c) => c.id).sort()).toEqual(files.sort());
      for (const chart of seen.charts) {
        expect(chart.width, chart.id).toBeGreaterThan(200);
        expect(chart.right, chart.id).toBeLessThanOrEqual(width);
      }
      expect(seen.clipped).toEqual([]);
      expect(seen.overlapping).toEqual([]);
      for (const table of seen.tables) {
        expect(table.right).toBeLessThanOrEqual(width);
        for (const cell of table.cells) {
          expect(cell).toMatch(/^[\d,]+(\.\d{1,3})?(\u00a0(%|ms|s|B|kB|MB)|\/s)?$/);
          expect(cell.split('.')[0], cell).not.toMatch(/\d{4}/); // thousands separated
        }
      }
      expect(seen.text).not.toMatch(/\.\d*[1-9]\d{3,}/); // no raw floats: at most 3 significant decimals
    });
  }

  it('predicts every row of the data file with `predict --file --text-column`', async () => {
    const out = path.join(cwd, 'predictions.csv');
    const result = await kd(project, ['predict', '--file', 'data/reviews.csv', '--text-column', 'Bewertung', '--out', out]).catch((error: { code: number; stderr: string }) => error);
    const rows = parse(readFileSync(out, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(sample.length);
    const empty = sample.filter((row) => row.Bewertung!.trim() === '').length;
    expect(rows.filter((row) => row.error === 'empty text')).toHaveLength(empty);
    expect('code' in result ? result.code : 0).toBe(empty > 0 ? 1 : 0);
    for (const row of rows.filter((r) => r.error === '')) {
      expect(Object.values(SITES)).toContain(row.label);
      expect(Object.values(SITES).reduce((sum, site) => sum + Number(row[`prob_${site}`]), 0)).toBeCloseTo(1, 4);
    }
  });
});
