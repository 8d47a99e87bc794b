import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { writeJsonAtomic } from '../../atomic-write.js';
import { KdError } from '../../errors.js';
import { isAbsent } from '../hashing.js';

const suspectsSchema = z.record(z.string(), z.array(z.string()));

/**
 * Remote objects found corrupt (by a pull, `run --pull` or `cache verify --remote`), per remote
 * URL, in `.kd/remote-suspects.json`: the next push uploads the good local copy over them instead
 * of skipping keys the remote "has".
 */
export class RemoteSuspects {
  private readonly file: string;

  constructor(kdDir: string, private readonly url: string) {
    this.file = path.join(kdDir, 'remote-suspects.json');
  }

  private readAll(): Record<string, string[]> {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      if (isAbsent(error)) return {};
      throw new KdError(`cannot read ${this.file}: ${(error as Error).message}`);
    }
    try {
      const parsed = suspectsSchema.safeParse(JSON.parse(text));
      if (parsed.success) return parsed.data;
    } catch {
      // Handled below: a list half-edited by hand only costs re-uploads, say so and start again.
    }
    process.stderr.write(`kd-pipeline: warning: ${this.file} is not a valid suspects list; ignoring it\n`);
    return {};
  }

  keys(): Set<string> {
    return new Set(this.readAll()[this.url] ?? []);
  }

  /** Adds (`corrupt`) and drops (`fixed`) keys of this remote; writes only when the list changes. */
  update(corrupt: string[], fixed: string[] = []): void {
    const all = this.readAll();
    const before = all[this.url] ?? [];
    const keys = new Set([...before, ...corrupt]);
    for (const key of fixed) keys.delete(key);
    const after = [...keys].sort();
    if (after.length === before.length && after.every((key, i) => key === before[i])) return;
    if (after.length > 0) all[this.url] = after;
    else delete all[this.url];
    writeJsonAtomic(this.file, all);
  }
}
