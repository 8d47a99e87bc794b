import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { KdError } from '../errors.js';
import { readTextIfExists } from '../read-file.js';
import { parseOrThrow } from '../validation.js';
import { loadYaml, parseYamlMemo } from './yaml-memo.js';

/** An out/metrics/plots entry: `path` or DVC's one-key map `{path: {cache, persist}}`. */
const outOptions = z.strictObject({ cache: z.boolean().optional(), persist: z.boolean().optional() });
const outEntry = z.union([z.string().min(1), z.record(z.string().min(1), outOptions)]);
const paramsEntry = z.union([z.string().min(1), z.record(z.string().min(1), z.array(z.string().min(1)))]);

const stageSchema = z.strictObject({
  cmd: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  wdir: z.string().optional(),
  deps: z.array(z.string().min(1)).default([]),
  params: z.array(paramsEntry).default([]),
  outs: z.array(outEntry).default([]),
  metrics: z.array(outEntry).default([]),
  plots: z.array(outEntry).default([]),
  desc: z.string().optional(),
  frozen: z.boolean().default(false),
  always_changed: z.boolean().default(false),
});

const pipelineSchema = z.strictObject({
  stages: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'stage names use letters, digits, _ . -'), stageSchema),
  // Validated by lib/tracking; the engine only carries it.
  tracking: z.unknown().optional(),
});

export interface OutSpec {
  path: string;
  cache: boolean;
  persist: boolean;
  kind: 'out' | 'metrics' | 'plots';
}

export interface StageSpec {
  name: string;
  cmd: string;
  wdir: string;
  deps: string[];
  /** Per dep, the params.yaml key it came from when it is one `\${key}` (for messages about a missing file). */
  depKeys?: (string | undefined)[];
  /** Declared params: file → dotted keys. */
  params: Record<string, string[]>;
  outs: OutSpec[];
  desc?: string;
  frozen: boolean;
  alwaysChanged: boolean;
}

export interface PipelineSpec {
  root: string;
  stages: StageSpec[];
  /** Every params file that was read, by file name. */
  paramsFiles: Record<string, Record<string, unknown>>;
  tracking: unknown;
}

export const PIPELINE_FILE = 'pipeline.yaml';
export const PARAMS_FILE = 'params.yaml';

/** The nearest directory at or above `cwd` that holds a pipeline.yaml. */
export function findProjectRoot(cwd: string): string {
  let dir = path.resolve(cwd);
  for (;;) {
    if (existsSync(path.join(dir, PIPELINE_FILE))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new KdError(`no ${PIPELINE_FILE} found in ${cwd} or any parent directory`);
    dir = parent;
  }
}

function readYaml(root: string, file: string, label: string): unknown {
  const text = readTextIfExists(file, label);
  if (text === null) throw new KdError(`${label}: file not found`);
  try {
    return parseYamlMemo(root, text) ?? {};
  } catch (error) {
    if (error instanceof loadYaml().YAMLParseError) {
      const where = error.linePos?.[0];
      throw new KdError(`${label}${where ? `:${where.line}:${where.col}` : ''}: malformed YAML: ${error.message.split('\n')[0]}`);
    }
    throw error;
  }
}

/** The value at a dotted key, or undefined. */
export function getDotted(object: unknown, key: string): unknown {
  let value: unknown = object;
  for (const part of key.split('.')) {
    if (value === null || typeof value !== 'object' || !(part in value)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** DVC-style `${key}` interpolation from params.yaml values. */
function interpolate(text: string, params: Record<string, unknown>, where: string): string {
  return text.replace(/\$\{\s*([^}\s]+)\s*\}/g, (_, key: string) => {
    const value = getDotted(params, key);
    if (value === undefined) throw new KdError(`${where}: \${${key}} is not a key of ${PARAMS_FILE}`);
    if (value !== null && typeof value === 'object') throw new KdError(`${where}: \${${key}} is not a scalar value`);
    return String(value);
  });
}

const WHOLE_KEY = /^\$\{\s*([^}\s]+)\s*\}$/;

/**
 * A dep that is one `${key}` naming a list in params.yaml stands for each of its entries (none for
 * `[]`), so a params key can hold several input files (soft_labels.unlabeled.path); any other dep
 * is interpolated as a string.
 */
function expandDep(dep: string, params: Record<string, unknown>, where: string): { path: string; key?: string }[] {
  const key = WHOLE_KEY.exec(dep)?.[1];
  const value = key === undefined ? undefined : getDotted(params, key);
  if (!Array.isArray(value)) return [{ path: path.posix.normalize(interpolate(dep, params, where)), ...(key ? { key } : {}) }];
  return value.map((entry, i) => {
    if (typeof entry !== 'string' || entry === '') throw new KdError(`${where}: \${${key}}[${i}] in ${PARAMS_FILE} is not a file path`);
    return { path: path.posix.normalize(entry), key: key! };
  });
}

function normalizeOuts(entries: z.infer<typeof outEntry>[], kind: OutSpec['kind'], sub: (text: string, field: string) => string): OutSpec[] {
  return entries.map((entry, index) => {
    const [rawPath, options] = typeof entry === 'string' ? [entry, {}] : (Object.entries(entry)[0] ?? ['', {}]);
    return {
      path: path.posix.normalize(sub(rawPath, `${kind === 'out' ? 'outs' : kind}[${index}]`)),
      cache: options.cache ?? kind === 'out',
      persist: options.persist ?? false,
      kind,
    };
  });
}

/**
 * Reads and validates pipeline.yaml and the params files its stages use; `params` stands in for
 * params.yaml (an experiment checks its trials' params before writing any).
 */
export function loadPipeline(root: string, params?: Record<string, unknown>): PipelineSpec {
  const raw = parseOrThrow(pipelineSchema, readYaml(root, path.join(root, PIPELINE_FILE), PIPELINE_FILE), PIPELINE_FILE);
  const paramsFiles: Record<string, Record<string, unknown>> = params ? { [PARAMS_FILE]: params } : {};
  const paramsOf = (file: string): Record<string, unknown> => {
    if (!paramsFiles[file]) {
      const value = existsSync(path.join(root, file)) ? readYaml(root, path.join(root, file), file) : {};
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new KdError(`${file}: expected a mapping at the top level`);
      paramsFiles[file] = value as Record<string, unknown>;
    }
    return paramsFiles[file];
  };
  const defaults = paramsOf(PARAMS_FILE);
  const stages = Object.entries(raw.stages).map(([name, stage]): StageSpec => {
    const where = `${PIPELINE_FILE}: stages.${name}`;
    const sub = (text: string, field: string) => interpolate(text, defaults, `${where}.${field}`);
    const cmds = Array.isArray(stage.cmd) ? stage.cmd : [stage.cmd];
    const params: Record<string, string[]> = {};
    stage.params.forEach((entry, index) => {
      const pairs: [string, string[]][] = typeof entry === 'string' ? [[PARAMS_FILE, [entry]]] : Object.entries(entry);
      for (const [file, keys] of pairs) {
        const values = paramsOf(file);
        for (const key of keys) {
          if (getDotted(values, key) === undefined) throw new KdError(`${where}.params[${index}]: '${key}' is not a key of ${file}`);
          (params[file] ??= []).push(key);
        }
      }
    });
    const deps = stage.deps.flatMap((dep, i) => expandDep(dep, defaults, `${where}.deps[${i}]`));
    return {
      name,
      cmd: cmds.map((c, i) => sub(c, Array.isArray(stage.cmd) ? `cmd[${i}]` : 'cmd')).join(' && '),
      wdir: stage.wdir ? sub(stage.wdir, 'wdir') : '.',
      deps: deps.map((dep) => dep.path),
      depKeys: deps.map((dep) => dep.key),
      params,
      outs: [...normalizeOuts(stage.outs, 'out', sub), ...normalizeOuts(stage.metrics, 'metrics', sub), ...normalizeOuts(stage.plots, 'plots', sub)],
      desc: stage.desc,
      frozen: stage.frozen,
      alwaysChanged: stage.always_changed,
    };
  });
  return { root, stages, paramsFiles, tracking: raw.tracking };
}
