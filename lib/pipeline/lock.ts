import path from 'node:path';
import objectHash from 'object-hash';
import { z } from 'zod';
import { writeFileAtomic } from '../atomic-write.js';
import { KdError } from '../errors.js';
import { readTextIfExists } from '../read-file.js';
import { parseOrThrow } from '../validation.js';
import { LOCK_FILE } from './project.js';
import { loadYaml, parseYamlMemo } from './yaml-memo.js';

const hashedPath = z.strictObject({
  path: z.string().min(1),
  hash: z.string().min(1),
  size: z.number().int().nonnegative(),
  nfiles: z.number().int().nonnegative().optional(),
  isexec: z.literal(true).optional(),
});

const lockedOut = z.union([
  hashedPath.extend({ cache: z.literal(false).optional() }),
  // persist outs (checkpoints) outlive runs and are not part of the stage's identity.
  z.strictObject({ path: z.string().min(1), persist: z.literal(true) }),
]);

export const lockedStageSchema = z.strictObject({
  cmd: z.string(),
  wdir: z.string().optional(),
  deps: z.array(hashedPath).default([]),
  params: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
  outs: z.array(lockedOut).default([]),
  /** Flattened numeric values of the stage's metrics files, so `metrics diff` works without the files. */
  metrics: z.record(z.string(), z.record(z.string(), z.number())).optional(),
  run: z.string().optional(),
});

export const lockSchema = z.strictObject({
  schema: z.literal('1'),
  stages: z.record(z.string(), lockedStageSchema).default({}),
});

export type LockedStage = z.infer<typeof lockedStageSchema>;
export type LockedOut = z.infer<typeof lockedOut>;
export type HashedPath = z.infer<typeof hashedPath>;
export type Lock = z.infer<typeof lockSchema>;

export function emptyLock(): Lock {
  return { schema: '1', stages: {} };
}

/**
 * Parses lock text (from the workspace or a git revision); `source` names it in errors. With the
 * project's `root`, the YAML goes through the project's parse memo.
 */
export function parseLock(text: string, source: string, root?: string): Lock {
  let raw: unknown;
  try {
    raw = root === undefined ? loadYaml().parse(text) : parseYamlMemo(root, text);
  } catch (error) {
    if (error instanceof loadYaml().YAMLParseError) throw new KdError(`${source}: malformed YAML: ${error.message.split('\n')[0]}`);
    throw error;
  }
  if (raw === null || raw === undefined) return emptyLock();
  return parseOrThrow(lockSchema, raw, source);
}

/** The lock at `file`; empty only when the file does not exist (`label` names it in errors). */
export function readLock(file: string, label = LOCK_FILE): Lock {
  const text = readTextIfExists(file, label);
  return text === null ? emptyLock() : parseLock(text, label, path.dirname(file));
}

/** Each entry's YAML, kept while the entry object lives: a run rewrites the lock after every stage. */
const stageYaml = new WeakMap<LockedStage, { name: string; text: string }>();

/**
 * The YAML of `stages.<name>`: the entry stringified on its own and indented under `stages:`,
 * exactly what stringifying the whole lock would give (block style, no line folding), so a run of
 * n stages stringifies each entry once instead of the whole lock n times.
 */
function stageText(name: string, entry: LockedStage): string {
  const known = stageYaml.get(entry);
  if (known?.name === name) return known.text;
  const text = loadYaml()
    .stringify({ [name]: entry }, { lineWidth: 0 })
    .replace(/^(?=.)/gm, '  ');
  stageYaml.set(entry, { name, text });
  return text;
}

/** Written atomically and in pipeline order, so the lock is never half-written and diffs stay small. */
export function writeLock(file: string, lock: Lock, order: string[]): void {
  const stages = order.flatMap((name) => {
    const entry = lock.stages[name];
    return entry ? [stageText(name, entry)] : [];
  });
  writeFileAtomic(file, `schema: "1"\n${stages.length > 0 ? `stages:\n${stages.join('')}` : 'stages: {}\n'}`);
}

/** What decides whether a stage must run: cmd, dep contents, declared params values. */
export interface StageIdentity {
  cmd: string;
  wdir?: string;
  deps: { path: string; hash: string }[];
  params: Record<string, Record<string, unknown>>;
}

export function fingerprint(identity: StageIdentity): string {
  return objectHash(
    {
      cmd: identity.cmd,
      wdir: identity.wdir ?? '.',
      deps: identity.deps.map((d) => [d.path, d.hash]),
      params: identity.params,
    },
    { algorithm: 'md5', unorderedObjects: true },
  );
}
