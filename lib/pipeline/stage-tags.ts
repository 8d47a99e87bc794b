import { appendFileSync, rmSync } from 'node:fs';
import { readTextIfExists } from '../read-file.js';

/**
 * The channel by which a stage process reports facts about itself to the engine (and so to
 * MLflow), e.g. which tfjs backend it trained on. The engine sets KD_STAGE_TAGS to a file path
 * before it starts the stage's command; each call appends one `key=value` line to that file.
 * Outside the engine (a stage run by hand) the variable is unset and this is a no-op.
 */
export const STAGE_TAGS_ENV = 'KD_STAGE_TAGS';

export function reportStageTag(key: string, value: string): void {
  const file = process.env[STAGE_TAGS_ENV];
  if (!file) return;
  appendFileSync(file, `${key}=${value.replace(/[\r\n]+/g, ' ')}\n`, 'utf8');
}

/** `key=value` lines → tags; `onMalformed` hears of every other non-empty line (1-based number). */
export function parseStageTags(text: string, onMalformed?: (line: string, number: number) => void): Record<string, string> {
  const tags: Record<string, string> = {};
  text.split('\n').forEach((line, i) => {
    const eq = line.indexOf('=');
    if (eq > 0) tags[line.slice(0, eq)] = line.slice(eq + 1);
    else if (line.trim() !== '') onMalformed?.(line, i + 1);
  });
  return tags;
}

/**
 * The tags a stage reported (none when it reported none), then removes the file. A file that cannot
 * be read or a line that does not parse is a warning naming the file: a dropped
 * `kd.register_model` must never go unnoticed.
 */
export function readStageTags(file: string, warn: (message: string) => void): Record<string, string> {
  let text: string | null;
  try {
    text = readTextIfExists(file);
  } catch (error) {
    warn(`${(error as Error).message}; the stage's tags (e.g. kd.register_model) are lost`);
    return {};
  }
  rmSync(file, { force: true });
  if (text === null) return {};
  return parseStageTags(text, (line, n) => warn(`${file}:${n}: not a key=value tag, dropped: ${JSON.stringify(line.slice(0, 80))}`));
}
