import { rmSync } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomic } from '../atomic-write.js';
import { readdirIfExists, readTextIfExists } from '../read-file.js';
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

  /**
   * The entry, or undefined when there is none or it does not parse (the stage then runs and its
   * entry is written again). An entry that cannot be read stops the command instead.
   */
  get(fingerprint: string): LockedStage | undefined {
    const text = readTextIfExists(this.file(fingerprint));
    if (text === null) return undefined;
    try {
      const parsed = lockedStageSchema.safeParse(JSON.parse(text));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined; // not JSON: as above
    }
  }

  put(fingerprint: string, entry: LockedStage): void {
    writeJsonAtomic(this.file(fingerprint), entry);
  }

  /** Every remembered run: fingerprint → entry. */
  entries(): Map<string, LockedStage> {
    const all = new Map<string, LockedStage>();
    for (const prefix of readdirIfExists(this.dir)) {
      for (const name of readdirIfExists(path.join(this.dir, prefix))) {
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
