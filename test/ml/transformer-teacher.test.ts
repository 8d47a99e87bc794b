import { spawnSync } from 'node:child_process';
import { copyFileSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddingCache } from '../../lib/ml/teacher/embedding-cache.js';
import { readEncoderFolder } from '../../lib/ml/teacher/encoder-folder.js';
import { readEncoderModel } from '../../lib/ml/teacher/encoder-model.js';
import { SentenceEncoder } from '../../lib/ml/teacher/sentence-encoder.js';
import { windowSpans, type LongText } from '../../lib/ml/teacher/windows.js';
import { CLI, defaultEncoderDir, encoderCopy, REPO, setParams } from './encoder-fixture.js';

const FIXTURES = path.join(REPO, 'test/fixtures');
const created: string[] = [];

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** A project with the repository's pipeline.yaml and params.yaml; `params` overrides keys. */
function project(params: Record<string, string>): string {
  const root = tempDir('kd-teacher-');
  copyFileSync(path.join(REPO, 'pipeline.yaml'), path.join(root, 'pipeline.yaml'));
  copyFileSync(path.join(REPO, 'params.yaml'), path.join(root, 'params.yaml'));
  setParams(root, params);
  return root;
}

function kd(root: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } });
}

/** The CLI without blocking this process (which may be serving the hub the CLI talks to). */
async function kdAsync(root: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number; stderr: string }> {
  const result = await execa(process.execPath, [CLI, ...args], { cwd: root, env: { ...process.env, ...env }, reject: false });
  return { status: result.exitCode ?? 1, stderr: result.stderr };
}

/** Runs the encoder stage expecting it to fail: the message, and that nothing was written. */
function encoderFails(root: string, env: NodeJS.ProcessEnv = {}): string {
  const result = kd(root, ['stage', 'encoder'], env);
  expect(result.status, result.stderr).toBe(1);
  expect(existsSync(path.join(root, 'models'))).toBe(false);
  return result.stderr;
}

afterAll(() => {
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
});

/** The real default encoder, with teacher.transformer's defaults unless `p` says otherwise. */
async function loadEncoder(p: { batch_size?: number; threads?: number; long_text?: LongText; window_overlap?: number } = {}): Promise<SentenceEncoder> {
  const { dir, info } = readEncoderFolder(path.dirname(path.dirname(defaultEncoderDir())));
  const defaults = { model: '', dtype: 'q8', pooling: 'mean', max_tokens: 128, long_text: 'windows', window_overlap: 16, batch_size: 64, device: 'cpu', threads: 1, head: {} as never } as const;
  return SentenceEncoder.load(dir, info, { ...defaults, ...p }, 'embedding');
}

function cosine(a: Float32Array, b: Float32Array): number {
  return a.reduce((sum, x, d) => sum + x * b[d]!, 0);
}

describe('the sentence encoder', () => {
  it('gives the embeddings of Python onnxruntime on the same ONNX file, to 1e-4', async () => {
    const fixture = JSON.parse(readFileSync(path.join(FIXTURES, 'minilm-reference.json'), 'utf8')) as { texts: string[]; embeddings: number[][] };
    const root = path.dirname(path.dirname(defaultEncoderDir()));
    const { dir, info } = readEncoderFolder(root);
    // Several batches, one after another on 2 intra-op threads.
    const encoder = await loadEncoder({ batch_size: 3, threads: 2 });
    try {
      expect(encoder.dim).toBe(384);
      expect(encoder.maskToken).toBe('[MASK]');
      const rows = await encoder.encode(fixture.texts);
      rows.forEach((row, i) => {
        const worst = Math.max(...Array.from(row, (x, d) => Math.abs(x - fixture.embeddings[i]![d]!)));
        expect(worst, fixture.texts[i]).toBeLessThan(1e-4);
      });
    } finally {
      await encoder.dispose();
    }
  });

  it('reads a text longer than max_tokens in windows: the position-weighted mean of each window encoded alone, renormalised', async () => {
    // Words the tokenizer keeps whole, so a window's pieces are a run of the text's words.
    const data = readFileSync(path.join(REPO, 'data/sentiment-labelled-sentences.csv'), 'utf8').toLowerCase();
    // Batches of 2: a long text's windows land in different batches.
    const windowed = await loadEncoder({ batch_size: 2, threads: 2 });
    const truncating = await loadEncoder({ long_text: 'truncate' });
    try {
      const words = [...new Set(data.match(/[a-z]+/g))].filter((w) => windowed.pieces(w) === 1).slice(0, 600);
      expect(words).toHaveLength(600);
      const long = words.join(' ');
      expect(windowed.pieces(long)).toBe(600);
      const spans = windowSpans(600, 126, 'windows', 16);
      expect(spans.map((s) => s.start)).toEqual([0, 110, 220, 330, 440, 474]);
      const parts = await windowed.encode(spans.map(({ start, end }) => words.slice(start, end).join(' ')));
      // Every window read 126 pieces + [CLS] + [SEP]: equal weights.
      const expected = new Float32Array(384).map((_, d) => parts.reduce((sum, row) => sum + row[d]!, 0));
      const norm = Math.hypot(...expected);
      const short = 'A short sentence reads as it did.';
      const [got, gotShort] = await windowed.encode([long, short]);
      expect(Math.max(...Array.from(got!, (x, d) => Math.abs(x - expected[d]! / norm)))).toBeLessThan(1e-5);
      expect(Math.hypot(...got!)).toBeCloseTo(1, 5);
      // truncate reads the first window only; a text that fits is the same either way.
      const [first, firstShort] = await truncating.encode([long, short]);
      expect(Math.max(...Array.from(first!, (x, d) => Math.abs(x - parts[0]![d]!)))).toBeLessThan(1e-6);
      expect(cosine(got!, first!)).toBeLessThan(0.99);
      expect(Array.from(gotShort!)).toEqual(Array.from(firstShort!));
    } finally {
      await windowed.dispose();
      await truncating.dispose();
    }
  });

  it('refuses a window overlap that leaves a window nothing new to read, naming the key', async () => {
    await expect(loadEncoder({ window_overlap: 126 })).rejects.toThrow('teacher.transformer.window_overlap: 126 must be below the pieces a window holds (max_tokens 128 − 2 special tokens)');
  });

  it('counts the ONNX model\'s parameters as the onnx package does (22,617,680 initializer elements)', () => {
    expect(readEncoderModel(path.join(defaultEncoderDir(), 'onnx/model_quantized.onnx')).params).toBe(22_617_680);
  });
});

describe('the embedding cache', () => {
  it('serves what another process wrote, and keeps both of two writers\' segments', () => {
    const dir = tempDir('kd-embcache-');
    const key = { fingerprint: 'f', pooling: 'mean', maxTokens: 8, output: 'embedding' };
    const a = new EmbeddingCache(dir, key, 3);
    const b = new EmbeddingCache(dir, key, 3);
    a.set('guten Tag', new Float32Array([1, 2, 3]));
    b.set('你好', new Float32Array([4, 5, 6]));
    a.flush();
    b.flush();
    const reader = new EmbeddingCache(dir, key, 3);
    expect(reader.size).toBe(2);
    expect(Array.from(reader.get('你好')!)).toEqual([4, 5, 6]);
    expect(Array.from(reader.get('guten Tag')!)).toEqual([1, 2, 3]);
    expect(reader.get('guten tag')).toBeUndefined();
    // Another key (here: pooling) is another cache.
    expect(new EmbeddingCache(dir, { ...key, pooling: 'cls' }, 3).size).toBe(0);
    expect(new EmbeddingCache(dir, { ...key, longText: 'windows:16' }, 3).size).toBe(0);
  });
});

describe('kd-pipeline stage encoder', () => {
  it('copies a local folder in the Hugging Face layout and records each file\'s sha256', () => {
    const source = encoderCopy();
    created.push(source);
    const root = project({ 'teacher.transformer.model': JSON.stringify(source) });
    const result = kd(root, ['stage', 'encoder']);
    expect(result.status, result.stderr).toBe(0);
    const info = JSON.parse(readFileSync(path.join(root, 'models/encoder/encoder.json'), 'utf8'));
    expect(info.source).toMatch(/^local folder /);
    expect(info.files['onnx/model_quantized.onnx'].sha256).toBe('8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6');
    expect(info.fingerprint).toBe(JSON.parse(readFileSync(path.join(defaultEncoderDir(), 'encoder.json'), 'utf8')).fingerprint);
  });

  it('downloads a hub id from the hub through transformers.js (a local server in the hub\'s URL layout)', async () => {
    const hub = await hubServer({ 'someone/tiny-encoder': encoderCopy() });
    try {
      const root = project({ 'teacher.transformer.model': 'someone/tiny-encoder' });
      const result = await kdAsync(root, ['stage', 'encoder'], { HF_ENDPOINT: hub.url });
      expect(result.status, result.stderr).toBe(0);
      const info = JSON.parse(readFileSync(path.join(root, 'models/encoder/encoder.json'), 'utf8'));
      expect(info.source).toBe(`hub ${hub.url}/someone/tiny-encoder`);
      expect(Object.keys(info.files).sort()).toEqual(['config.json', 'onnx/model_quantized.onnx', 'tokenizer.json', 'tokenizer_config.json']);
      expect(hub.requests.some((r) => r.endsWith('/onnx/model_quantized.onnx'))).toBe(true);
    } finally {
      hub.server.close();
    }
  });

  it('a missing folder: names the key and the folder and says what a model folder holds', () => {
    const root = project({ 'teacher.transformer.model': './no-such-encoder' });
    const stderr = encoderFails(root);
    expect(stderr).toContain('teacher.transformer.model');
    expect(stderr).toContain('no-such-encoder: no such folder');
    expect(stderr).toContain('tokenizer.json, tokenizer_config.json, config.json, onnx/model_quantized.onnx');
  });

  it('no tokenizer.json: names it', () => {
    const source = encoderCopy();
    created.push(source);
    rmSync(path.join(source, 'tokenizer.json'));
    const stderr = encoderFails(project({ 'teacher.transformer.model': JSON.stringify(source) }));
    expect(stderr).toContain(`${source} has no tokenizer.json`);
  });

  it('an ONNX file that does not load: names the file', () => {
    const source = encoderCopy();
    created.push(source);
    writeFileSync(path.join(source, 'onnx/model_quantized.onnx'), 'this is not a protobuf');
    const stderr = encoderFails(project({ 'teacher.transformer.model': JSON.stringify(source) }));
    expect(stderr).toMatch(/models\/encoder\/onnx\/model_quantized\.onnx: not an ONNX model/);
  });

  it('an ONNX file with unexpected inputs and outputs: lists what it has and what is needed', () => {
    const source = encoderCopy();
    created.push(source);
    copyFileSync(path.join(FIXTURES, 'not-an-encoder.onnx'), path.join(source, 'onnx/model_quantized.onnx'));
    const stderr = encoderFails(project({ 'teacher.transformer.model': JSON.stringify(source) }));
    expect(stderr).toContain('unexpected inputs/outputs: has inputs [x] and outputs [y], needs inputs input_ids, attention_mask and output last_hidden_state');
  });

  it('a hub id with no network: says the hub cannot be reached and that a local folder works', () => {
    // Port 9 (discard) on loopback: the connection is refused at once, as with no network.
    const stderr = encoderFails(project({ 'teacher.transformer.model': 'someone/unknown-model' }), { HF_ENDPOINT: 'http://127.0.0.1:9' });
    expect(stderr).toContain('someone/unknown-model: the Hugging Face hub (http://127.0.0.1:9) cannot be reached');
    expect(stderr).toContain('A local folder in the Hugging Face layout works offline');
  });
});

describe('head: model (the model\'s own classifier as the teacher)', () => {
  /** A folder with a real (toy) ONNX sequence classifier whose config names `labels`. */
  function classifierFolder(labels: string[]): string {
    const dir = tempDir('kd-classifier-');
    mkdirSync(path.join(dir, 'onnx'));
    copyFileSync(path.join(FIXTURES, 'toy-classifier.onnx'), path.join(dir, 'onnx/model.onnx'));
    for (const file of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(path.join(defaultEncoderDir(), file), path.join(dir, file));
    const id2label = Object.fromEntries(labels.map((label, i) => [i, label]));
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'bert', architectures: ['BertForSequenceClassification'], id2label, label2id: Object.fromEntries(labels.map((l, i) => [l, i])), hidden_size: 4 }));
    return dir;
  }

  /** A project on 60 real sentences, up to train-teacher, with the toy classifier as the teacher. */
  function classifierProject(labels: string[]): string {
    const rows = readFileSync(path.join(REPO, 'data/sentiment-labelled-sentences.csv'), 'utf8').trim().split('\n');
    const root = project({
      'teacher.transformer.model': JSON.stringify(classifierFolder(labels)),
      'teacher.transformer.dtype': 'fp32',
      'teacher.transformer.head.type': 'model',
      'vocab.encoder_words': '0',
    });
    mkdirSync(path.join(root, 'data'));
    writeFileSync(path.join(root, 'data/sentiment-labelled-sentences.csv'), [rows[0], ...rows.slice(1).filter((_, i) => i % 50 === 0)].join('\n'));
    for (const stage of ['encoder', 'preprocess', 'build-vocab']) expect(kd(root, ['stage', stage]).status).toBe(0);
    return root;
  }

  it('is the teacher as it is when its labels are the data\'s (any case)', () => {
    const root = classifierProject(['NEGATIVE', 'POSITIVE']);
    const result = kd(root, ['stage', 'train-teacher']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toContain('is used as it is (nothing to train)');
    const member = JSON.parse(readFileSync(path.join(root, 'artifacts/teacher/member-0/transformer.json'), 'utf8'));
    expect(member).toMatchObject({ head: 'model', label_columns: [0, 1] });
    const metrics = JSON.parse(readFileSync(path.join(root, 'artifacts/metrics/teacher.json'), 'utf8'));
    expect(metrics.params).toBe(2 + 2 + 1); // W, B and the axes constant of the toy graph
  });

  it('refuses a model whose labels do not match the data\'s, naming both and writing nothing', () => {
    const root = classifierProject(['LABEL_0', 'LABEL_1']);
    const result = kd(root, ['stage', 'train-teacher']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("the model's labels [LABEL_0, LABEL_1] (config.json id2label) do not match the data's [negative, positive]");
    expect(existsSync(path.join(root, 'artifacts/teacher'))).toBe(false);
  });
});

/** A stand-in for the Hugging Face hub on loopback: GET/HEAD /<model>/resolve/main/<file> from a folder per model id. */
async function hubServer(models: Record<string, string>): Promise<{ server: Server; url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const match = /^\/(.+?)\/resolve\/main\/(.+)$/.exec(decodeURIComponent((req.url ?? '').split('?')[0]!));
    const folder = match && models[match[1]!];
    const file = folder && path.join(folder, match[2]!);
    if (!file || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(req.url === '/' ? 200 : 404).end();
      return;
    }
    res.writeHead(200, { 'content-length': statSync(file).size, 'content-type': 'application/octet-stream' });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  for (const folder of Object.values(models)) created.push(folder);
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}
