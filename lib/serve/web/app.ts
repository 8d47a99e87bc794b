// The page script (runs in the browser, served compiled from dist/lib/serve/web/app.js). It
// predicts either through POST /predict or with the exported model loaded into tfjs in the page,
// using the same compiled tokenisers as the server, so both give the same answer.
import type * as TF from '@tensorflow/tfjs';
import { maskedLayerClasses } from '../../ml/models/masked-layers.js';
import { type InputEncoder, padRows, pieceEncoder, type TokenizerJson, wordEncoder } from '../../ml/text/student-input.js';

declare const tf: typeof TF; // the global of /vendor/tf.min.js

type Mode = 'server' | 'browser';

interface Metadata {
  model: { name: string; version: string; fingerprint: string };
  labels: string[];
  preprocessing: { tokenizer: 'words' | 'pieces'; lowercase: boolean; strip_accents: boolean; max_len: number };
}

interface Result {
  label: string;
  probabilities: Record<string, number>;
}

interface BrowserModel {
  model: TF.LayersModel;
  encoder: InputEncoder;
  metadata: Metadata;
}

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`#${id} missing from the page`);
  return found as T;
}

const input = element<HTMLTextAreaElement>('text');
const labelOut = element<HTMLElement>('label');
const bars = element<HTMLElement>('probabilities');
const status = element<HTMLElement>('status');
const modelOut = element<HTMLElement>('model');
const latencyOut: Record<Mode, HTMLElement> = { server: element('latency-server'), browser: element('latency-browser') };

let browserModel: Promise<BrowserModel> | undefined;
let sequence = 0;

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { cache: 'no-store' });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

async function loadEncoder(metadata: Metadata, version: string): Promise<InputEncoder> {
  const { tokenizer, lowercase, strip_accents, max_len: maxLen } = metadata.preprocessing;
  if (tokenizer === 'pieces') {
    const [json, config] = await Promise.all([
      getJson<TokenizerJson>(`/model/tokenizer.json?v=${version}`),
      getJson<Record<string, unknown>>(`/model/tokenizer_config.json?v=${version}`),
    ]);
    return pieceEncoder(json, config);
  }
  return wordEncoder(await getJson<Record<string, number>>(`/model/vocab.json?v=${version}`), { lowercase, strip_accents }, maxLen);
}

async function loadBrowserModel(): Promise<BrowserModel> {
  // The CPU backend: for a model this small it answers faster than WebGL, and needs no GPU.
  await tf.setBackend('cpu');
  maskedLayerClasses(tf); // the student's own layers, before its model.json is read
  const metadata = await getJson<Metadata>('/metadata');
  const version = encodeURIComponent(metadata.model.fingerprint);
  const [model, encoder] = await Promise.all([tf.loadLayersModel(`/model/model.json?v=${version}`), loadEncoder(metadata, version)]);
  return { model, encoder, metadata };
}

async function predictInBrowser({ model, encoder, metadata }: BrowserModel, text: string): Promise<Result> {
  const width = (model.inputs[0]?.shape[1] as number | null | undefined) ?? null;
  const { ids, width: w } = padRows([encoder.ids(text)], width);
  const probs = tf.tidy(() => tf.softmax(model.predict(tf.tensor2d(ids, [1, w], 'int32')) as TF.Tensor));
  const values = await probs.data();
  probs.dispose();
  const probabilities: Record<string, number> = {};
  metadata.labels.forEach((label, index) => (probabilities[label] = values[index] ?? 0));
  const label = metadata.labels.reduce((best, name) => ((probabilities[name] ?? 0) > (probabilities[best] ?? 0) ? name : best));
  return { label, probabilities };
}

async function predictOnServer(text: string): Promise<Result> {
  const response = await fetch('/predict', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text }),
  });
  const body = (await response.json()) as Result & { error?: { message: string } };
  if (!response.ok) throw new Error(body.error?.message ?? `HTTP ${response.status}`);
  return body;
}

function currentMode(): Mode {
  return document.querySelector<HTMLInputElement>('input[name="mode"]:checked')?.value === 'browser' ? 'browser' : 'server';
}

function render(result: Result): void {
  labelOut.textContent = result.label;
  bars.replaceChildren(
    ...Object.entries(result.probabilities).map(([label, p]) => {
      const row = document.createElement('li');
      row.dataset.label = label;
      row.innerHTML = '<span class="name"></span><span class="bar"><span></span></span><span class="value"></span>';
      row.querySelector('.name')!.textContent = label;
      row.querySelector<HTMLElement>('.bar > span')!.style.width = `${(p * 100).toFixed(1)}%`;
      row.querySelector('.value')!.textContent = p.toFixed(3);
      return row;
    }),
  );
}

async function predict(): Promise<void> {
  const text = input.value;
  const mine = ++sequence;
  if (text.trim() === '') {
    labelOut.textContent = '—';
    bars.replaceChildren();
    status.textContent = 'Type a sentence.';
    return;
  }
  const mode = currentMode();
  try {
    // The latency shown is the prediction's alone: loading the model into the page comes first.
    status.textContent = mode === 'browser' && !browserModel ? 'Loading the model into the page…' : 'Predicting…';
    const loaded = mode === 'browser' ? await (browserModel ??= loadBrowserModel()) : undefined;
    const started = performance.now();
    const result = loaded ? await predictInBrowser(loaded, text) : await predictOnServer(text);
    const elapsed = performance.now() - started;
    if (mine !== sequence) return; // a newer keystroke already asked
    render(result);
    latencyOut[mode].textContent = `${elapsed.toFixed(1)} ms`;
    status.textContent = `Predicted ${mode === 'server' ? 'by the server' : 'in this browser'}.`;
    document.body.dataset.lastMode = mode;
  } catch (error) {
    if (mine === sequence) status.textContent = `Error: ${(error as Error).message}`;
  }
}

let debounce: ReturnType<typeof setTimeout> | undefined;
function schedulePredict(): void {
  clearTimeout(debounce);
  debounce = setTimeout(() => void predict(), 120);
}

input.addEventListener('input', schedulePredict);
for (const radio of document.querySelectorAll<HTMLInputElement>('input[name="mode"]')) radio.addEventListener('change', schedulePredict);

void getJson<Metadata>('/metadata').then(
  (metadata) => {
    modelOut.textContent = `${metadata.model.name} ${metadata.model.version} (${metadata.model.fingerprint.slice(0, 12)})`;
    document.body.dataset.ready = 'true';
  },
  (error: Error) => (status.textContent = `Error: ${error.message}`),
);
