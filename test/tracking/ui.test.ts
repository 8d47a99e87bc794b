import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MlflowClient, runsViewUrl } from '../../lib/tracking/client.js';
import { createTracker } from '../../lib/tracking/index.js';
import { repoRoot, stageEnd, startServer, tempProject } from './helpers.js';

let server: Awaited<ReturnType<typeof startServer>>;
beforeAll(async () => {
  server = await startServer();
}, 120_000);
afterAll(async () => server?.stop());

it('the MLflow UI in headless Chromium lists the pipeline run and its stage runs', async () => {
  const root = tempProject(server.uri, 'exp-ui');
  const tracker = await createTracker(root);
  const startedAt = new Date().toISOString();
  await tracker.runStarted({ runId: 'ui-1', root, startedAt, user: 'tester', pipelineFingerprint: 'pf', params: { seed: 1 }, argv: ['run'] });
  for (const stage of ['preprocess', 'distill-student']) await tracker.stageFinished(stageEnd('ui-1', stage));
  await tracker.runFinished({ runId: 'ui-1', status: 'FINISHED', endedAt: new Date().toISOString() });
  await tracker.close();
  const expId = await new MlflowClient({ uri: server.uri }).getOrCreateExperiment('exp-ui');

  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    // The address `kd-pipeline mlflow ui` prints: MLflow 3's UI opens an experiment on its GenAI
    // overview unless the browser chose its model-training mode; this URL chooses it.
    await page.goto(runsViewUrl(server.uri, expId));
    await page.getByText(`pipeline ${startedAt}`).first().waitFor({ timeout: 60_000 });
    // Child runs are folded under their parent until its (+) button in the run-name cell is clicked.
    await page.locator('button[data-component-id*="runnamecellrenderer"]').first().click();
    await page.getByText('distill-student').first().waitFor({ timeout: 30_000 });
    expect(await page.getByText('preprocess').first().isVisible()).toBe(true);
    mkdirSync(join(repoRoot, 'test-results'), { recursive: true });
    await page.screenshot({ path: join(repoRoot, 'test-results', 'mlflow-ui-runs.png'), fullPage: true });
  } finally {
    await browser.close();
  }
}, 150_000);
