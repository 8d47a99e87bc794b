import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { ContentCache } from './cache.js';
import { isDirHash, md5File, type ManifestEntry } from './hashing.js';
import { lockedStageSchema, readLock, type LockedStage } from './lock.js';
import { makeKdDir, projectPaths } from './project.js';
import { mapLimit } from './remote/concurrency.js';
import { openRemote } from './remote/open.js';
import { RemoteSuspects } from './remote/suspects.js';
import { withRetries } from './remote/retry.js';
import { hashOfKey, objectKey, OBJECTS_PREFIX, RUNS_PREFIX } from './remote/store.js';
import { acquireRunLock } from './run-lock.js';
import { findProjectRoot } from './spec.js';
import { contentMd5 } from './verified-objects.js';

export interface VerifyProblem {
  key: string;
  /** corrupt: an object whose bytes do not hash to its name; invalid: a run-cache entry that does not parse; dangling: one that names objects the store lacks. */
  kind: 'corrupt' | 'invalid' | 'dangling';
  error: string;
}

export interface VerifyReport {
  /** `.kd` or the remote's URL. */
  store: string;
  remote: string | null;
  objects: number;
  runs: number;
  problems: VerifyProblem[];
  /** With --repair: the keys quarantined (local) or deleted (remote). */
  repaired: string[];
  /** With --repair (local): objects stored again from workspace outs that hold exactly their bytes. */
  restored: string[];
}

export interface VerifyOptions {
  cwd: string;
  /** A remote's name, '' for the default remote; undefined: the local cache. */
  remote?: string;
  repair: boolean;
  jobs: number;
  wait?: boolean;
}

/** What one store offers the checks: its objects and run-cache entries, and a way to read them. */
interface Source {
  objects: Map<string, number>;
  runs: string[];
  /** The md5 of the object's bytes, and the bytes themselves for a manifest. */
  digest(key: string): Promise<{ md5: string; bytes?: Buffer }>;
  readRun(key: string): Promise<string>;
}

async function digestStream(stream: Readable, keep: boolean): Promise<{ md5: string; bytes?: Buffer }> {
  const md5 = createHash('md5');
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    md5.update(chunk);
    if (keep) chunks.push(chunk);
  }
  return { md5: md5.digest('hex'), ...(keep ? { bytes: Buffer.concat(chunks) } : {}) };
}

function parseManifest(bytes: Buffer | undefined): ManifestEntry[] | null {
  try {
    const parsed: unknown = JSON.parse(bytes?.toString('utf8') ?? '');
    return Array.isArray(parsed) ? (parsed as ManifestEntry[]) : null;
  } catch {
    return null;
  }
}

/**
 * Every object hashed against its name (manifests also parsed), then every run-cache entry parsed
 * and its objects (a directory's files too) looked up among the sound ones.
 */
interface Findings {
  problems: VerifyProblem[];
  corrupt: string[];
  invalidRuns: string[];
  /** Run-cache entry → the object keys it needs that are missing or corrupt. */
  danglingRuns: Map<string, string[]>;
}

async function inspect(source: Source, jobs: number): Promise<Findings> {
  const problems: VerifyProblem[] = [];
  const manifests = new Map<string, ManifestEntry[]>();
  const keys = [...source.objects.keys()];
  const digests = await mapLimit(keys, jobs, (key) => source.digest(key));
  const corrupt: string[] = [];
  keys.forEach((key, i) => {
    const { md5, bytes } = digests[i] as { md5: string; bytes?: Buffer };
    const hash = hashOfKey(key);
    const manifest = isDirHash(hash) ? parseManifest(bytes) : undefined;
    if (md5 !== contentMd5(hash)) problems.push({ key, kind: 'corrupt', error: `${key}: its content hashes to ${md5}, not ${contentMd5(hash)}` });
    else if (manifest === null) problems.push({ key, kind: 'corrupt', error: `${key}: not a directory manifest` });
    else {
      if (manifest) manifests.set(hash, manifest);
      return;
    }
    corrupt.push(key);
  });
  const sound = (hash: string) => source.objects.has(objectKey(hash)) && !corrupt.includes(objectKey(hash));
  const invalidRuns: string[] = [];
  const danglingRuns = new Map<string, string[]>();
  const texts = await mapLimit(source.runs, jobs, (key) => source.readRun(key).catch((error: Error) => error));
  source.runs.forEach((key, i) => {
    const text = texts[i];
    let entry: LockedStage | undefined;
    try {
      const parsed = lockedStageSchema.safeParse(typeof text === 'string' ? JSON.parse(text) : undefined);
      if (parsed.success) entry = parsed.data;
    } catch {
      // Not JSON: reported below.
    }
    if (!entry) {
      problems.push({ key, kind: 'invalid', error: `${key}: ${text instanceof Error ? text.message : 'not a valid run-cache entry'}` });
      invalidRuns.push(key);
      return;
    }
    const needs = entry.outs.flatMap((out) => ('hash' in out ? [out.hash, ...(manifests.get(out.hash) ?? []).map((e) => e.hash)] : []));
    const lacking = [...new Set(needs)].filter((hash) => !sound(hash));
    if (lacking.length === 0) return;
    problems.push({ key, kind: 'dangling', error: `${key}: needs ${lacking.map(objectKey).join(', ')}, ${lacking.length === 1 ? 'which is' : 'which are'} missing or corrupt` });
    danglingRuns.set(key, lacking.map(objectKey));
  });
  return { problems, corrupt, invalidRuns, danglingRuns };
}

/**
 * After quarantining corrupt objects (now, or earlier by a checkout or a push): the workspace outs
 * pipeline.lock names that still hold exactly an object's bytes (each re-hashed, no memo trusted)
 * go back into the cache, so a later push uploads the good copy.
 */
async function restoreFromWorkspace(root: string, cache: ContentCache, corrupt: string[]): Promise<string[]> {
  const wanted = new Set([...corrupt.map(hashOfKey), ...(await cache.quarantined())]);
  const candidates: { hash: string; file: string; size: number }[] = [];
  for (const entry of Object.values(readLock(projectPaths(root).lockFile).stages)) {
    for (const out of entry.outs) {
      if (!('hash' in out)) continue;
      if (!isDirHash(out.hash)) candidates.push({ hash: out.hash, file: path.join(root, out.path), size: out.size });
      else for (const e of (await cache.readManifest(out.hash)) ?? []) candidates.push({ hash: e.hash, file: path.join(root, out.path, e.path), size: e.size });
    }
  }
  const restored: string[] = [];
  for (const { hash, file, size } of candidates) {
    if (!wanted.has(hash)) continue;
    if ((await md5File(file).catch(() => null)) !== hash) continue;
    await cache.save(file, { hash, size });
    wanted.delete(hash);
    restored.push(objectKey(hash));
  }
  return restored;
}

async function verifyLocal(options: VerifyOptions): Promise<VerifyReport> {
  const root = findProjectRoot(options.cwd);
  const paths = projectPaths(root);
  const release = options.repair ? await acquireRunLock(paths.runLock, { wait: options.wait === true }) : () => undefined;
  try {
    const cache = ContentCache.of(paths);
    const store = cache.store;
    const source: Source = {
      objects: await store.list(OBJECTS_PREFIX),
      runs: [...(await store.list(RUNS_PREFIX)).keys()],
      digest: async (key) => {
        const file = store.pathOf(key);
        // Hashed afresh (no memo trusted), and a sound object is remembered as verified.
        if (!key.endsWith('.dir')) return { md5: (await cache.checkObject(hashOfKey(key), true)) ?? contentMd5(hashOfKey(key)) };
        const bytes = await readFile(file);
        return { md5: createHash('md5').update(bytes).digest('hex'), bytes };
      },
      readRun: (key) => readFile(store.pathOf(key), 'utf8'),
    };
    // One job: hashing is CPU-bound on this thread, and a local disk gains little from more.
    const found = await inspect(source, 1);
    cache.verified.save();
    const report: VerifyReport = { store: '.kd', remote: null, objects: source.objects.size, runs: source.runs.length, problems: found.problems, repaired: [], restored: [] };
    if (!options.repair) return report;
    makeKdDir(paths);
    for (const key of found.corrupt) {
      await cache.quarantine(hashOfKey(key));
      report.repaired.push(key);
    }
    report.restored = await restoreFromWorkspace(root, cache, found.corrupt);
    // A dangling entry whose objects all came back from the workspace restores again: kept.
    const back = new Set(report.restored);
    const doomed = [...found.invalidRuns, ...[...found.danglingRuns].filter(([, lacking]) => lacking.some((key) => !back.has(key))).map(([key]) => key)];
    await store.remove(doomed);
    report.repaired.push(...doomed);
    return report;
  } finally {
    release();
  }
}

async function verifyRemote(options: VerifyOptions): Promise<VerifyReport> {
  const root = findProjectRoot(options.cwd);
  const { remote, store } = await openRemote(root, options.remote || undefined, options.jobs);
  const read = (key: string, keep: boolean) => withRetries(async () => digestStream(await store.get(key), keep));
  const source: Source = {
    objects: await withRetries(() => store.list(OBJECTS_PREFIX)),
    runs: [...(await withRetries(() => store.list(RUNS_PREFIX))).keys()],
    digest: (key) => read(key, key.endsWith('.dir')),
    readRun: async (key) => ((await read(key, true)).bytes ?? Buffer.alloc(0)).toString('utf8'),
  };
  const found = await inspect(source, options.jobs);
  const report: VerifyReport = { store: store.url, remote: remote.name, objects: source.objects.size, runs: source.runs.length, problems: found.problems, repaired: [], restored: [] };
  // Even unrepaired, a corrupt remote object must not stop the next push from replacing it.
  new RemoteSuspects(projectPaths(root).kdDir, store.url).update(found.corrupt);
  if (options.repair && found.problems.length > 0) {
    // Run-cache entries before the objects they name, as gc does: an interruption leaves no entry pointing at nothing.
    const doomed = [...found.invalidRuns, ...found.danglingRuns.keys(), ...found.corrupt];
    await withRetries(() => store.remove(doomed));
    report.repaired.push(...doomed);
  }
  return report;
}

/** `kd-pipeline cache verify`: like fsck, for the local cache or a remote. */
export function verifyCache(options: VerifyOptions): Promise<VerifyReport> {
  return options.remote === undefined ? verifyLocal(options) : verifyRemote(options);
}
