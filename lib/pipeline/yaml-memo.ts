import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as Yaml from 'yaml';
import { writeJsonAtomic } from '../atomic-write.js';

let yamlModule: typeof Yaml | undefined;

/**
 * The `yaml` package, loaded on first use: its ~70 CommonJS modules are a large part of the CLI's
 * start-up, and a no-op run, served by the memo below, needs none of them.
 */
export function loadYaml(): typeof Yaml {
  yamlModule ??= createRequire(import.meta.url)('yaml') as typeof Yaml;
  return yamlModule;
}

/** Enough for pipeline.yaml, params files and pipeline.lock, plus a few earlier versions of each. */
const MAX_ENTRIES = 32;

/** Per project: md5 of a YAML text → its parsed value (insertion order = age). */
const memos = new Map<string, Map<string, unknown>>();

function memoFile(root: string): string {
  return path.join(root, '.kd', 'yaml-memo.json');
}

function load(root: string): Map<string, unknown> {
  let memo = memos.get(root);
  if (!memo) {
    memo = new Map();
    try {
      const parsed: unknown = JSON.parse(readFileSync(memoFile(root), 'utf8'));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) memo = new Map(Object.entries(parsed));
    } catch {
      // Missing or unreadable: the memo is only an optimisation, start empty.
    }
    memos.set(root, memo);
  }
  return memo;
}

/** Whether JSON keeps the value exactly (YAML also has .inf, .nan and -0, which it does not). */
function jsonExact(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0);
  if (Array.isArray(value)) return value.every(jsonExact);
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) return Object.values(value).every(jsonExact);
  return false;
}

/**
 * Parses YAML text through a memo in `.kd/yaml-memo.json` keyed by the text's md5, so a no-op run
 * parses no YAML at all: the `yaml` package's parser costs far more than reading JSON. Keyed by
 * content, a hit can never be stale; parse errors are not memoised and reach the caller as before.
 * The memo is written only where `.kd/` already exists, so read-only commands create nothing.
 */
export function parseYamlMemo(root: string, text: string): unknown {
  const key = createHash('md5').update(text).digest('hex');
  const memo = load(root);
  if (memo.has(key)) return structuredClone(memo.get(key));
  const value = loadYaml().parse(text);
  if (!jsonExact(value)) return value;
  memo.set(key, structuredClone(value));
  for (const old of memo.keys()) {
    if (memo.size <= MAX_ENTRIES) break;
    memo.delete(old);
  }
  if (existsSync(path.dirname(memoFile(root)))) {
    try {
      writeJsonAtomic(memoFile(root), Object.fromEntries(memo));
    } catch {
      // Unwritable .kd: parse again next time.
    }
  }
  return value;
}
