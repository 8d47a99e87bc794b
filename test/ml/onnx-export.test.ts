import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onnxStudent } from '../../lib/ml/export/onnx/onnx-classifier.js';
import { ONNX_FILES, ONNX_TOKENIZER_FILE } from '../../lib/ml/export/onnx/onnx-export.js';
import { BROWSER_EXAMPLE, PYTHON_EXAMPLE } from '../../lib/ml/export/export-readme.js';
import { argmax, softmax } from '../../lib/ml/evaluate/metrics.js';
import { CJK_TEXT, EXAMPLE_TEXT, LABELS, onnxStudentCases, type OnnxStudentCase } from './onnx-students.js';
import { REPO } from './encoder-fixture.js';

const PYTHON = path.join(REPO, '.venv/bin/python');
const CHROMIUM = '/usr/bin/chromium';
const PRECISIONS = ['float32', 'int8'] as const;
const root = mkdtempSync(path.join(tmpdir(), 'kd-onnx-'));
let cases: OnnxStudentCase[] = [];

beforeAll(async () => {
  cases = await onnxStudentCases(root);
}, 120_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const file = (c: OnnxStudentCase, precision: (typeof PRECISIONS)[number]) => path.join(c.dir, ONNX_FILES[precision]);

/** Same label as float32 tfjs on every sentence and probabilities within 1e-5 (float32); int8: ≥ 99 % the same labels as float32 ONNX. */
function expectLikeTfjs(c: OnnxStudentCase, float32: number[][], int8: number[][]): void {
  float32.forEach((row, i) => {
    expect(argmax(row), `${c.name}: "${c.texts[i]}"`).toBe(argmax(c.probabilities[i]!));
    row.forEach((p, k) => expect(Math.abs(p - c.probabilities[i]![k]!), `${c.name}: "${c.texts[i]}"`).toBeLessThanOrEqual(1e-5));
  });
  const agree = int8.filter((row, i) => argmax(row) === argmax(float32[i]!)).length / int8.length;
  expect(agree, `${c.name}: int8 agreement with float32`).toBeGreaterThanOrEqual(0.99);
}

describe('ONNX export of every student architecture (words and pieces)', () => {
  it('is at most 30 % of the float32 size as int8', () => {
    for (const c of cases) {
      const ratio = statSync(file(c, 'int8')).size / statSync(file(c, 'float32')).size;
      expect(ratio, c.name).toBeLessThanOrEqual(0.3);
    }
  });

  it('passes onnx.checker (full_check) and predicts like tfjs in Python: onnxruntime on the ids of Hugging Face tokenizers', () => {
    const manifest = cases.map((c) => ({ files: PRECISIONS.map((p) => file(c, p)), tokenizer: path.join(c.dir, ONNX_TOKENIZER_FILE), texts: c.texts }));
    const out = JSON.parse(execFileSync(PYTHON, [path.join(REPO, 'test/fixtures/onnx_students.py')], { input: JSON.stringify(manifest), encoding: 'utf8' })) as { ids: number[][]; probabilities: Record<string, number[][]> }[];
    cases.forEach((c, n) => {
      const { ids, probabilities } = out[n]!;
      c.texts.forEach((text, i) => {
        // The one documented gap: the word student's tokenizer.json cannot segment Chinese into words.
        if (c.tokenizer === 'words' && text === CJK_TEXT) expect(ids[i]).not.toEqual([...c.ids[i]!]);
        else expect(ids[i], `${c.name}: "${text}"`).toEqual([...c.ids[i]!]);
      });
      // Predictions compared where both tokenisers agree (all but that one text).
      const same = (i: number) => !(c.tokenizer === 'words' && c.texts[i] === CJK_TEXT);
      const keep = <T,>(rows: readonly T[]) => rows.filter((_, i) => same(i));
      expectLikeTfjs({ ...c, texts: keep(c.texts), probabilities: keep(c.probabilities) }, keep(probabilities[file(c, 'float32')]!), keep(probabilities[file(c, 'int8')]!));
    });
  }, 60_000);

  it('predicts like tfjs in onnxruntime-node, one padded batch per file', async () => {
    for (const c of cases) {
      const [float32, int8] = await Promise.all(
        PRECISIONS.map(async (precision) => {
          const student = await onnxStudent(readFileSync(file(c, precision)));
          try {
            return (await student.logits(c.ids.map((row) => (row.length ? row : Int32Array.of(0))))).map((row) => softmax(Array.from(row)));
          } finally {
            await student.release();
          }
        }),
      );
      expectLikeTfjs(c, float32!, int8!);
    }
  });
});

it('quotes the examples the export README holds (and the tests run) word for word in README.md and the docs', () => {
  const docs = readFileSync(path.join(REPO, 'docs/evaluate-export.md'), 'utf8');
  expect(docs).toContain(PYTHON_EXAMPLE);
  expect(docs).toContain(BROWSER_EXAMPLE);
  expect(readFileSync(path.join(REPO, 'README.md'), 'utf8')).toContain(PYTHON_EXAMPLE);
});

describe('ONNX export in the browser (onnxruntime-web in Chromium)', () => {
  let browser: Browser;
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (scripts/test-env.mjs does it for npm test)`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'] });
  });
  afterAll(async () => browser?.close());

  it('predicts like tfjs with the WebAssembly backend', async () => {
    const page = await browser.newPage();
    const ortDir = path.join(REPO, 'node_modules/onnxruntime-web/dist');
    // Everything from disk under one made-up origin: the runtime's files and the exported models.
    await page.route('http://kd.test/**', (route) => {
      const url = new URL(route.request().url());
      const [, area, ...rest] = url.pathname.split('/');
      if (area === 'ort') return route.fulfill({ path: path.join(ortDir, rest.join('/')) });
      if (area === 'models') return route.fulfill({ path: path.join(root, rest.join('/')) });
      // The runtime is loaded by the page itself, as a site would: a module script.
      return route.fulfill({ body: "<!doctype html><script type=module>import * as ort from '/ort/ort.wasm.min.mjs'; window.ort = ort;</script>", contentType: 'text/html' });
    });
    await page.goto('http://kd.test/');
    await page.waitForFunction(() => 'ort' in window);
    for (const c of cases) {
      const rows = c.ids.map((row) => (row.length ? [...row] : [0]));
      const [float32, int8] = await page.evaluate(
        async ({ name, files, rows }) => {
          const { ort } = window as unknown as { ort: typeof import('onnxruntime-web') };
          ort.env.wasm.wasmPaths = 'http://kd.test/ort/';
          ort.env.wasm.numThreads = 1;
          const out: number[][][] = [];
          for (const file of files) {
            const session = await ort.InferenceSession.create(`http://kd.test/models/${name}/${file}`);
            const probs: number[][] = [];
            for (const row of rows) {
              const input = new ort.Tensor('int64', BigInt64Array.from(row, BigInt), [1, row.length]);
              const logits = Array.from((await session.run({ input_ids: input })).logits!.data as Float32Array);
              const exp = logits.map((x) => Math.exp(x - Math.max(...logits)));
              probs.push(exp.map((e) => e / exp.reduce((a, b) => a + b)));
            }
            await session.release();
            out.push(probs);
          }
          return out;
        },
        { name: c.name, files: PRECISIONS.map((p) => ONNX_FILES[p]), rows },
      );
      expectLikeTfjs(c, float32!, int8!);
    }
    await page.close();
  }, 60_000);

  it("runs the export README's browser example as written, its CDN imports served from node_modules", async () => {
    const page = await browser.newPage();
    const cdn: Record<string, string> = {
      'https://cdn.jsdelivr.net/npm/onnxruntime-web@1.31.1/dist/': path.join(REPO, 'node_modules/onnxruntime-web/dist/'),
      'https://cdn.jsdelivr.net/npm/@huggingface/tokenizers@0.2.0/dist/': path.join(REPO, 'node_modules/@huggingface/tokenizers/dist/'),
    };
    await page.route('https://cdn.jsdelivr.net/**', (route) => {
      const url = route.request().url();
      const prefix = Object.keys(cdn).find((p) => url.startsWith(p));
      return prefix ? route.fulfill({ path: cdn[prefix] + url.slice(prefix.length), headers: { 'access-control-allow-origin': '*' } }) : route.abort();
    });
    // An export folder as the example expects it: the page beside labels.json and onnx/.
    await page.route('http://kd.test/**', (route) => {
      const [, name, ...rest] = new URL(route.request().url()).pathname.split('/');
      if (rest[0] === 'labels.json') return route.fulfill({ body: JSON.stringify(LABELS), contentType: 'application/json' });
      if (rest[0] === 'onnx') return route.fulfill({ path: path.join(root, name!, rest[1] === 'model.onnx' ? ONNX_FILES.float32 : rest[1]!) });
      return route.fulfill({ body: `<!doctype html>${BROWSER_EXAMPLE}`, contentType: 'text/html' });
    });
    for (const c of cases.filter((c) => c.name.startsWith('cnn'))) {
      const logged = page.waitForEvent('console', { predicate: (message) => message.type() === 'log' });
      await page.goto(`http://kd.test/${c.name}/index.html`);
      const answer = await (await logged).args()[0]!.jsonValue();
      const expected = c.probabilities[c.texts.indexOf(EXAMPLE_TEXT)]!;
      expect(answer).toEqual({ label: LABELS[argmax(expected)], probability: expect.closeTo(Math.max(...expected), 5) });
    }
    await page.close();
  }, 60_000);
});
