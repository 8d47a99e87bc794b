// `npm run screenshots`: the README's pictures of what a run gives, made the way a user gets them.
// In a fresh project (`kd-pipeline init`, the embedded example, default params) with a local MLflow
// server from .venv/ (node scripts/test-env.mjs installs it) it runs the default pipeline, then once
// more with another distillation temperature and back, and photographs with Debian's Chromium:
//   docs/report.png        the report at 1280 px: headline, trade-offs, tables
//   docs/report-curves.png the training curves and calibration diagrams
//   docs/report-phone.png  the top of the report at 390 px
//   docs/mlflow-runs.png   MLflow's runs view of the project's experiment
// Options: --project DIR reuses a project that has already run (no training; MLflow gets its journal
// through `kd-pipeline mlflow sync`); --keep leaves the temporary project in place.
// Needs `npm run build` (npm test does it). Takes a few minutes with the native backend.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { parse } from 'yaml';
import { MlflowClient } from '../dist/lib/tracking/client.js';
import { findMlflow, startMlflowServer } from '../dist/lib/tracking/local-server.js';

const repo = resolve(fileURLToPath(new URL('..', import.meta.url)));
const cli = join(repo, 'bin', 'kd-pipeline.js');
const docs = join(repo, 'docs');
const CHROMIUM = '/usr/bin/chromium';
const args = process.argv.slice(2);
const projectArg = args.includes('--project') ? resolve(args[args.indexOf('--project') + 1]) : null;
const keep = args.includes('--keep');

const mlflow = findMlflow(repo);
if (!mlflow) throw new Error('mlflow is not installed: run `node scripts/test-env.mjs` (or `npm test` once) first');

function kd(cwd, argv, env) {
  console.error(`screenshots: kd-pipeline ${argv.join(' ')}`);
  execFileSync(process.execPath, [cli, ...argv], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
}

const work = mkdtempSync(join(tmpdir(), 'kd-screenshots-'));
const server = await startMlflowServer(mlflow, join(work, 'mlflow'));
let browser;
try {
  const tracking = { MLFLOW_TRACKING_URI: server.uri };
  let project = projectArg;
  if (project === null) {
    project = join(work, 'reviews');
    kd(work, ['init', 'reviews']);
    kd(project, ['run'], tracking);
    const temperature = parse(readFileSync(join(project, 'params.yaml'), 'utf8')).student.temperature;
    kd(project, ['run', '--set', `student.temperature=${temperature === 2 ? 3 : 2}`], tracking);
    // Back to the defaults: restored from the run-cache, so the report shows the default run.
    kd(project, ['run', '--set', `student.temperature=${temperature}`], tracking);
  } else {
    kd(project, ['mlflow', 'sync'], tracking);
  }

  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--hide-scrollbars'] });
  const report = pathToFileURL(join(project, 'artifacts/report/index.html')).href;

  const desktop = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await desktop.goto(report);
  const top = await desktop.locator('#curves').boundingBox();
  await desktop.screenshot({ path: join(docs, 'report.png'), fullPage: true, clip: { x: 0, y: 0, width: 1280, height: Math.round(top.y - 16) } });
  const curves = await desktop.locator('#curves').boundingBox();
  const perClass = await desktop.locator('#per-class').boundingBox();
  await desktop.screenshot({ path: join(docs, 'report-curves.png'), fullPage: true, clip: { x: 0, y: curves.y - 8, width: 1280, height: perClass.y - curves.y } });

  const phone = await browser.newPage({ viewport: { width: 390, height: 1500 }, deviceScaleFactor: 1 });
  await phone.goto(report);
  await phone.screenshot({ path: join(docs, 'report-phone.png') });

  // MLflow's own UI, served by the local server: the experiment's runs, stage runs nested under each pipeline run.
  const experiment = parse(readFileSync(join(project, 'pipeline.yaml'), 'utf8')).tracking?.experiment ?? basename(project);
  const id = await new MlflowClient({ uri: server.uri }).getOrCreateExperiment(experiment);
  const ui = await browser.newPage({ viewport: { width: 1440, height: 760 } });
  await ui.goto(`${server.uri}/#/experiments/${id}/runs`);
  await ui.getByText('pipeline 20', { exact: false }).first().waitFor({ timeout: 60_000 });
  // The runs table of MLflow (pinned by scripts/test-env.mjs): without the assistant panel, in the
  // model-training view, with the columns that tell the runs apart; then the latest run's stages.
  await ui.getByRole('button', { name: 'Close' }).click({ timeout: 5000 }).catch(() => {});
  await ui.getByText('Model training', { exact: true }).click({ timeout: 5000 }).catch(() => {});
  await ui.getByRole('button', { name: 'Columns' }).click();
  // The metric names arrive with the runs' data, after the run names.
  await ui.getByText(/^Metrics \(\d+\)$/).waitFor({ timeout: 60_000 });
  for (const column of ['Dataset', 'Source', 'Models', 'teacher.accuracy', 'student.accuracy', 'baseline.accuracy', 'student.temperature']) {
    await ui.getByPlaceholder('Search columns').fill(column);
    // A group of many columns (metrics, parameters) may come up collapsed.
    for (const closed of await ui.locator('.du-bois-light-tree-switcher_close').all()) await closed.click().catch(() => {});
    await ui.getByText(column, { exact: true }).last().click({ timeout: 30_000 }).catch(async () => {
      console.error(`screenshots: MLflow offers no column ${column}`);
      await ui.screenshot({ path: join(work, `columns-${column}.png`) });
    });
  }
  await ui.keyboard.press('Escape');
  // Wide enough to read the column names: a double click on a column's edge fits it to its content.
  for (const handle of await ui.locator('.ag-header-cell[col-id*="metrics"] .ag-header-cell-resize, .ag-header-cell[col-id*="params"] .ag-header-cell-resize').all()) {
    await handle.dblclick({ timeout: 10_000 }).catch(() => {});
  }
  // The first, complete run (the oldest, at the bottom) with its stage runs.
  await ui.locator('button[data-component-id*="runnamecellrenderer"]').last().click();
  await ui.getByText('train-teacher', { exact: true }).first().waitFor();
  await ui.waitForTimeout(1000);
  await ui.screenshot({ path: join(docs, 'mlflow-runs.png') });
  console.error(`screenshots: wrote docs/report.png, docs/report-curves.png, docs/report-phone.png, docs/mlflow-runs.png${keep ? `; project kept in ${project}` : ''}`);
} finally {
  await browser?.close();
  await server.stop();
  if (!keep) rmSync(work, { recursive: true, force: true });
}
