import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../lib/serve/server.js';
import { defaultEncoderDir } from '../ml/encoder-fixture.js';
import { writeExport, writePiecesExport } from './export-fixture.js';
import { serve, tempDir } from './server-harness.js';

// The page script and the tokeniser are served compiled from dist/ (npm test builds first).
const CHROMIUM = '/usr/bin/chromium';
const tmp = tempDir('browser');
const servers: Record<string, RunningServer> = {};
let browser: Browser;
let page: Page;

beforeAll(async () => {
  for (const file of ['dist/lib/serve/web/app.js', 'dist/lib/ml/text/text.js']) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first`);
  }
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (scripts/test-env.mjs does it for npm test)`);
  servers.words = await serve(await writeExport(path.join(tmp.dir, 'export'), 'fp-web'));
  servers.pieces = await serve(await writePiecesExport(path.join(tmp.dir, 'pieces'), 'fp-pieces', defaultEncoderDir()));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage();
  page.on('pageerror', (error) => console.error('page error:', error));
});

afterAll(async () => {
  await browser?.close();
  for (const server of Object.values(servers)) await server.close();
  tmp.remove();
});

async function probabilities(): Promise<Record<string, number>> {
  const rows = await page.locator('#probabilities li').evaluateAll((items) =>
    items.map((li) => [(li as HTMLElement).dataset.label!, Number(li.querySelector('.value')!.textContent)] as const),
  );
  return Object.fromEntries(rows);
}

describe('the web page', () => {
  // An export over words (as earlier versions wrote) and one over pieces with its tokenizer.json and masked layers.
  it.each([
    ['words', 'fp-web'],
    ['pieces', 'fp-pieces'],
  ])('predicts as you type on the server, then in the browser with the same answer (student over %s)', async (kind, fingerprint) => {
    await page.goto(servers[kind]!.url);
    await page.locator('body[data-ready="true"]').waitFor();
    await expect(page.locator('#model').textContent()).resolves.toMatch(new RegExp(`kd-student 1 \\(${fingerprint}\\)`));

    await page.locator('#text').fill('I love this movie, it is great');
    await page.locator('body[data-last-mode="server"]').waitFor();
    expect(await page.locator('#label').textContent()).toBe('positive');
    expect(await page.locator('#latency-server').textContent()).toMatch(/^\d+\.\d ms$/);
    const onServer = await probabilities();

    await page.locator('#mode-browser').check();
    await page.locator('body[data-last-mode="browser"]').waitFor();
    expect(await page.locator('#label').textContent()).toBe('positive');
    expect(await page.locator('#latency-browser').textContent()).toMatch(/^\d+\.\d ms$/);
    const inBrowser = await probabilities();
    for (const label of ['negative', 'positive']) expect(inBrowser[label]).toBeCloseTo(onServer[label]!, 3);

    await page.locator('#text').fill('Schön? No, awful. I hate it.');
    await page.waitForFunction(() => document.getElementById('label')?.textContent === 'negative');
    expect(await page.locator('#status').textContent()).toMatch(/in this browser/);

    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: `test-results/serve-page-${kind}.png`, fullPage: true });
  });
});
