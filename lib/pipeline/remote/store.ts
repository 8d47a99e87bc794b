import type { Readable } from 'node:stream';
import { KdError } from '../../errors.js';

/**
 * A content-addressed object database over some file system, as in DVC's dvc_data: the local
 * `.kd/`, a directory remote and an S3 remote all hold the same keys, `cache/<2 hex>/<rest>` for
 * objects (files, and `.dir` manifests) and `runs/<2 hex>/<rest>.json` for run-cache entries.
 */
export interface ObjectStore {
  /** Where it is, for messages (`s3://bucket/prefix`, a directory path). */
  readonly url: string;
  /** Fails with a clear RemoteError when the store cannot be used (credentials, missing bucket, unreachable). */
  check(): Promise<void>;
  /** Which of `keys` the store holds. */
  has(keys: string[]): Promise<Set<string>>;
  /** Every key under `prefix` ('cache/' or 'runs/') with its size in bytes. */
  list(prefix: string): Promise<Map<string, number>>;
  /** The object's content; throws ObjectMissingError if absent. */
  get(key: string): Promise<Readable>;
  /**
   * Stores `body` (`size` bytes) under `key`, all or nothing: a failing or erroring body leaves no
   * object. `md5`, when known, lets the store verify what it received.
   */
  put(key: string, body: () => Promise<Readable | Buffer>, size: number, md5?: string): Promise<void>;
  remove(keys: string[]): Promise<void>;
}

export const OBJECTS_PREFIX = 'cache/';
export const RUNS_PREFIX = 'runs/';

/** `cache/ab/cdef…` for an object hash (file md5, or a manifest's `….dir`). */
export function objectKey(hash: string): string {
  return `${OBJECTS_PREFIX}${hash.slice(0, 2)}/${hash.slice(2)}`;
}

export function hashOfKey(key: string): string {
  return key.slice(OBJECTS_PREFIX.length).replace('/', '');
}

export function runKey(fingerprint: string): string {
  return `${RUNS_PREFIX}${fingerprint.slice(0, 2)}/${fingerprint.slice(2)}.json`;
}

export function fingerprintOfKey(key: string): string {
  return key.slice(RUNS_PREFIX.length).replace('/', '').replace(/\.json$/, '');
}

/** The md5 an object's bytes must have: its hash, less the `.dir` suffix of a manifest. */
export function expectedMd5(key: string): string | undefined {
  return key.startsWith(OBJECTS_PREFIX) ? hashOfKey(key).replace(/\.dir$/, '') : undefined;
}

/** The store cannot be used at all (credentials, bucket, network after retries): stops the whole command. */
export class RemoteError extends KdError {}

/** A transient failure worth retrying (connection refused or reset, timeout, 5xx, throttling). */
export class TransientError extends Error {}

export class ObjectMissingError extends Error {
  constructor(readonly key: string, where: string) {
    super(`${key} is not in ${where}`);
  }
}

/** Downloaded bytes whose md5 is not the object's hash: never stored, reported with its key. */
export class CorruptObjectError extends Error {
  constructor(readonly key: string, actual: string, where: string) {
    super(`${key} in ${where} is corrupted: its content hashes to ${actual}, not ${expectedMd5(key) ?? '?'}`);
  }
}
