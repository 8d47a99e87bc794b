import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomic } from '../atomic-write.js';
import { lockedStageSchema, type LockedStage } from './lock.js';

/**
 * DVC's run-cache: every successful stage run is remembered by its fingerprint, so a stage whose
 * cmd, deps and params match ANY earlier run (not only the last one) restores its outputs from
 * the content cache instead of running.
 */
export class RunCache {
  constructor(private readonly dir: string) {}

  private file(fingerprint: string): string {
    return path.join(this.dir, fingerprint.slice(0, 2), `${fingerprint.slice(2)}.json`);
  }

  get(fingerprint: string): LockedStage | undefined {
    try {
      const parsed = lockedStageSchema.safeParse(JSON.parse(readFileSync(this.file(fingerprint), 'utf8')));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  put(fingerprint: string, entry: LockedStage): void {
    writeJsonAtomic(this.file(fingerprint), entry);
  }

  /** Every remembered run: fingerprint → entry. */
  entries(): Map<string, LockedStage> {
    const all = new Map<string, LockedStage>();
    for (const prefix of safeReaddir(this.dir)) {
      for (const name of safeReaddir(path.join(this.dir, prefix))) {
        const fingerprint = prefix + name.replace(/\.json$/, '');
        const entry = this.get(fingerprint);
        if (entry) all.set(fingerprint, entry);
      }
    }
    return all;
  }

  remove(fingerprint: string): void {
    rmSync(this.file(fingerprint), { force: true });
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
