import { appendFileSync } from 'node:fs';

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

export function parseStageTags(text: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) tags[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return tags;
}
