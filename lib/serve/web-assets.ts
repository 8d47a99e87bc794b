import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../package-root.js';
import { HttpError } from './http-io.js';

const root = packageRoot();
const compiledLib = path.join(root, 'dist', 'lib');

/**
 * Compiled modules the page may import, under /static/lib/: the page script, the tokenisers it
 * shares with the server (so browser and server encode a text identically) and the student's own
 * layers. Nothing else of the server's code is served.
 */
const STATIC_PREFIXES = ['serve/web/', 'ml/text/', 'ml/models/masked-layers.js'];

export interface Asset {
  contentType: string;
  body: Buffer;
}

const cache = new Map<string, Asset>();

async function cached(key: string, file: string, contentType: string): Promise<Asset> {
  const hit = cache.get(key);
  if (hit) return hit;
  let body: Buffer;
  try {
    body = await readFile(file);
  } catch {
    throw new HttpError(404, 'not_found', `${key} is not available (has \`npm run build\` run?)`);
  }
  const asset = { contentType, body };
  cache.set(key, asset);
  return asset;
}

/** tfjs for the page, from node_modules: the page never loads anything from a CDN. */
export function tfjsBundle(): Promise<Asset> {
  return cached('/vendor/tf.min.js', path.join(root, 'node_modules', '@tensorflow', 'tfjs', 'dist', 'tf.min.js'), 'text/javascript; charset=utf-8');
}

/**
 * @huggingface/tokenizers as one ES module (pure JS, no dependencies) for the page's import map,
 * wherever npm placed the package (a packed install hoists it beside kd-pipeline).
 */
export function tokenizersBundle(): Promise<Asset> {
  return cached('/vendor/tokenizers.mjs', fileURLToPath(import.meta.resolve('@huggingface/tokenizers')), 'text/javascript; charset=utf-8');
}

/** A compiled ES module under dist/lib/, for a URL path below /static/lib/. */
export function compiledModule(relative: string): Promise<Asset> {
  const normalized = path.posix.normalize(relative);
  if (!normalized.endsWith('.js') || normalized.startsWith('..') || !STATIC_PREFIXES.some((prefix) => normalized.startsWith(prefix))) {
    return Promise.reject(new HttpError(404, 'not_found', `/static/lib/${relative} is not served`));
  }
  return cached(`/static/lib/${normalized}`, path.join(compiledLib, normalized), 'text/javascript; charset=utf-8');
}
