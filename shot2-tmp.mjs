import { chromium } from 'playwright-core';
const [,, url, out, width, y, h] = process.argv;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
const page = await browser.newPage({ viewport: { width: Number(width), height: Number(h) } });
await page.goto(url);
await page.screenshot({ path: out, clip: { x: 0, y: Number(y), width: Number(width), height: Number(h) }, fullPage: true });
await browser.close();
