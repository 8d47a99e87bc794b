import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * SHA-256 of several byte strings taken together; each is length-prefixed so that moving bytes
 * from one part to the next changes the hash.
 */
export function sha256Parts(parts: readonly Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const part of parts) {
    hash.update(`${part.byteLength}:`);
    hash.update(part);
  }
  return hash.digest('hex');
}

/** Relative paths of every file under `dir`, sorted, with `/` separators on every platform. */
function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    return entry.isDirectory() ? filesUnder(path.join(dir, entry.name), rel) : entry.isFile() ? [rel] : [];
  });
}

/** SHA-256 of a file's content, or of a directory's sorted (relative path, content) pairs. */
export function pathSha256(target: string): string {
  if (!statSync(target).isDirectory()) return sha256Parts([readFileSync(target)]);
  const files = filesUnder(target).sort();
  return sha256Parts(files.flatMap((rel) => [Buffer.from(rel), readFileSync(path.join(target, rel))]));
}
