import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, realpathSync } from 'node:fs';
import { mkdir, readdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { KdError } from '../errors.js';
import { md5File, stampOf, statIfPresent } from './hashing.js';
import { StateStore } from './state-store.js';

/**
 * Verification of cache objects on read can be switched off with KD_VERIFY=0 — for benchmarking
 * the cost of verification only (bench/verify.mjs); never for real work.
 */
export function verifyReads(): boolean {
  return process.env.KD_VERIFY !== '0';
}

/** The md5 an object's bytes must have: its hash, less the `.dir` suffix of a manifest. */
export function contentMd5(hash: string): string {
  return hash.replace(/\.dir$/, '');
}

/** A cache object whose bytes do not hash to its name; it has been moved out of the cache. */
export class CorruptCacheObjectError extends KdError {
  constructor(
    readonly hash: string,
    readonly actual: string,
    /** Where its content was going (absolute), for the message. */
    readonly target: string,
    /** Where the object now lies (absolute), under `.kd/quarantine/`. */
    readonly quarantined: string,
  ) {
    super(`cached object for ${target} is corrupt (expected ${hash}, got ${actual}); moved to ${quarantined}`);
  }

  /** The message with paths relative to the project root. */
  describe(root: string): string {
    const rel = (file: string) => path.relative(root, file).split(path.sep).join('/');
    return `cached object for ${rel(this.target)} is corrupt (expected ${this.hash}, got ${this.actual}); moved to ${rel(this.quarantined)}`;
  }
}

/**
 * The objects of one cache whose content was checked against their name, remembered by
 * (inode, size, mtime) as the state store remembers workspace files: an object is read and hashed
 * once, and every later read of the same unchanged file costs one stat. An object that is replaced
 * or written to gets a new stamp and is hashed again. Saved in `verified.json` beside the cache's
 * real folder (an experiment trial's `.kd/cache` is a link to the project's: they share the memo
 * and the quarantine), keyed by the object's path inside the cache; loaded only when an object is
 * first read, so a no-op run never loads it.
 */
export class VerifiedObjects {
  private memo: StateStore | undefined;
  private real: string | undefined;

  /** `cacheDir`: the folder of the objects (`.kd/cache`). */
  constructor(private readonly cacheDir: string) {}

  /** Where the cache really is: its memo and quarantine live beside it. */
  private get home(): string {
    if (this.real === undefined) {
      try {
        this.real = path.dirname(realpathSync(this.cacheDir));
      } catch {
        this.real = path.dirname(this.cacheDir);
      }
    }
    return this.real;
  }

  private get store(): StateStore {
    this.memo ??= new StateStore(path.join(this.home, 'verified.json'));
    return this.memo;
  }

  private key(object: string): string {
    return path.relative(this.cacheDir, object).split(path.sep).join('/');
  }

  /** Whether `object` was verified to hold `hash` and has not changed since. */
  async trusted(object: string, hash: string): Promise<boolean> {
    const info = await statIfPresent(object);
    return info !== null && this.store.get(this.key(object), stampOf(info)) === hash;
  }

  /** Records that `object` (as it is now) holds `hash`: we just wrote or hashed those bytes. */
  async remember(object: string, hash: string): Promise<void> {
    const info = await statIfPresent(object);
    if (info) this.store.set(this.key(object), stampOf(info), hash);
  }

  /**
   * Hashes `object` (unless it is trusted) and answers null when it holds `hash`, else the md5 it
   * holds: the caller quarantines it. `full`: hash even a trusted object.
   */
  async check(object: string, hash: string, full = false): Promise<string | null> {
    if (!full && (await this.trusted(object, hash))) return null;
    const before = await statIfPresent(object);
    const actual = await md5File(object);
    if (actual !== contentMd5(hash)) return actual;
    if (before) this.store.set(this.key(object), stampOf(before), hash);
    return null;
  }

  /**
   * Copies `object` to `target` hashing the bytes on the way (one read), unless it is trusted, in
   * which case `copy` (a plain or reflink copy) does it. A mismatch removes nothing itself: it
   * returns the md5 the bytes had, and `target` holds them until the caller removes it.
   */
  async copy(object: string, hash: string, target: string, copy: () => Promise<void>): Promise<string | null> {
    if (await this.trusted(object, hash)) {
      await copy();
      return null;
    }
    const before = await statIfPresent(object);
    const md5 = createHash('md5');
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        md5.update(chunk);
        done(null, chunk);
      },
    });
    await pipeline(createReadStream(object, { highWaterMark: 1 << 20 }), tap, createWriteStream(target));
    const actual = md5.digest('hex');
    if (actual !== contentMd5(hash)) return actual;
    if (before) this.store.set(this.key(object), stampOf(before), hash);
    return null;
  }

  /** Moves a corrupt object out of the cache into `.kd/quarantine/` (kept for inspection, never read again). */
  async quarantine(object: string, hash: string): Promise<string> {
    const dir = path.join(this.home, 'quarantine');
    await mkdir(dir, { recursive: true });
    const moved = path.join(dir, `${hash}.${Date.now()}`);
    await rename(object, moved);
    return moved;
  }

  /** Hashes of the objects in the quarantine (`<hash>.<ms>`). */
  async quarantined(): Promise<string[]> {
    const names = await readdir(path.join(this.home, 'quarantine')).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [] as string[];
      throw error;
    });
    return names.map((name) => name.replace(/\.\d+$/, ''));
  }

  save(): void {
    this.memo?.save();
  }
}
