import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomic } from '../atomic-write.js';

/** The least time between two checkpoint saves of the memo during a run. */
const CHECKPOINT_MS = 1000;

/** What identifies an unchanged file without reading it (nanosecond mtime, so edits within a second count). */
export interface FileStamp {
  size: number;
  mtimeNs: string;
  ino: string;
}

interface StateEntry extends FileStamp {
  hash: string;
}

/**
 * The per-project hash memo, like DVC's state database: a file whose size, mtime and inode are
 * unchanged keeps its recorded hash, so a no-op run reads no data file. Saved atomically.
 */
export class StateStore {
  private entries: Record<string, StateEntry> = {};
  private dirty = false;
  private savedAt = 0;

  constructor(private readonly file: string) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (parsed && typeof parsed === 'object') this.entries = parsed as Record<string, StateEntry>;
    } catch {
      // Missing or unreadable: the memo is only an optimisation, start empty.
    }
  }

  get(file: string, stamp: FileStamp): string | undefined {
    const entry = this.entries[file];
    if (entry && entry.size === stamp.size && entry.mtimeNs === stamp.mtimeNs && entry.ino === stamp.ino) return entry.hash;
    return undefined;
  }

  set(file: string, stamp: FileStamp, hash: string): void {
    this.entries[file] = { ...stamp, hash };
    this.dirty = true;
  }

  /** Writes the memo, but only into an existing `.kd/`: status and run --dry-run create nothing in a project. */
  save(): void {
    if (this.dirty && existsSync(path.dirname(this.file))) {
      writeJsonAtomic(this.file, this.entries);
      this.savedAt = Date.now();
    }
    this.dirty = false;
  }

  /**
   * A save during a run (after a stage): at most once a second, so a run of many short stages does
   * not rewrite the whole memo after each one; the run saves once more at its end.
   */
  checkpoint(): void {
    if (Date.now() - this.savedAt >= CHECKPOINT_MS) this.save();
  }
}
