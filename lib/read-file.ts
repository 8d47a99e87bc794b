import { readdirSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { KdError } from './errors.js';

/**
 * Reads where "absent" is the only failure that may mean "empty": any other error (EACCES, EIO,
 * EISDIR, ENOTDIR, ELOOP…) stops the command with the path and the reason, because reading an
 * unreadable lock or cache folder as empty is how gc deletes live data.
 */
export function isAbsent(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

/** `<label>: cannot read (EACCES: permission denied)`: one line, the path and the reason. */
export function readFailure(label: string, error: unknown): KdError {
  const e = error as NodeJS.ErrnoException;
  const reason = e.code ? `${e.code}: ${e.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '').replace(/, \w+$/, '')}` : e.message;
  return new KdError(`${label}: cannot read (${reason})`);
}

/** The file's text, or null when it does not exist. */
export function readTextIfExists(file: string, label = file): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if (isAbsent(error)) return null;
    throw readFailure(label, error);
  }
}

export async function readTextIfExistsAsync(file: string, label = file): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if (isAbsent(error)) return null;
    throw readFailure(label, error);
  }
}

/** A directory's entries, or none when it does not exist. */
export function readdirIfExists(dir: string, label = dir): string[] {
  try {
    return readdirSync(dir);
  } catch (error) {
    if (isAbsent(error)) return [];
    throw readFailure(label, error);
  }
}

export async function readdirIfExistsAsync(dir: string, label = dir): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if (isAbsent(error)) return [];
    throw readFailure(label, error);
  }
}
