import { appendFileSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import type { RunEndInfo, RunStartInfo, StageEndInfo, StageStartInfo } from '../pipeline/events.js';
import { flatMetrics, type MetricsByFile } from '../pipeline/metrics-values.js';

/** Append-only JSON lines, written before anything is sent; `mlflow sync` replays it. */
export function journalPath(root: string): string {
  return join(root, '.kd', 'tracking', 'journal.jsonl');
}

export type JournalEvent =
  | { event: 'runStarted'; info: RunStartInfo }
  | { event: 'stageStarted'; info: StageStartInfo }
  | { event: 'stageFinished'; info: StageEndInfo; metrics: MetricPoint[]; final?: MetricsByFile }
  | { event: 'runFinished'; info: RunEndInfo };

/** Metric values are read when the stage ends, so a later run overwriting the files cannot change history. */
export interface MetricPoint {
  key: string;
  value: number;
  step: number;
}

const eventSchema = z.object({
  event: z.enum(['runStarted', 'stageStarted', 'stageFinished', 'runFinished']),
  info: z.object({ runId: z.string() }).loose(),
}).loose();

export function appendJournal(root: string, entry: JournalEvent): void {
  const file = journalPath(root);
  mkdirSync(dirname(file), { recursive: true });
  appendFileSync(file, `${JSON.stringify(entry)}\n`, 'utf8');
}

/** All events; a torn last line (crash mid-write) is skipped, any other bad line is an error. */
export async function readJournal(root: string): Promise<JournalEvent[]> {
  let text: string;
  try {
    text = await readFile(journalPath(root), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const lines = text.split('\n');
  const events: JournalEvent[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      events.push(eventSchema.parse(JSON.parse(line)) as unknown as JournalEvent);
    } catch {
      if (i < lines.length - 2) throw new Error(`${journalPath(root)}:${i + 1}: not a journal event`);
    }
  });
  return events;
}

/** One pipeline run as recorded: its events grouped. */
export interface JournaledRun {
  start: RunStartInfo;
  /** `final`: the values of the stage's metrics files once it ended, whether it ran, was restored or was up to date. */
  stages: { start?: StageStartInfo; end?: StageEndInfo; metrics: MetricPoint[]; final?: MetricsByFile }[];
  end?: RunEndInfo;
}

/** The final values of every stage's metrics files in a run, under one key per metric (flatMetrics). */
export function runFinalMetrics(run: JournaledRun): Record<string, number> {
  return flatMetrics(Object.assign({}, ...run.stages.map((s) => s.final ?? {})));
}

export function groupRuns(events: JournalEvent[]): JournaledRun[] {
  const runs = new Map<string, JournaledRun>();
  for (const e of events) {
    if (e.event === 'runStarted') {
      runs.set(e.info.runId, { start: e.info, stages: [] });
      continue;
    }
    const run = runs.get(e.info.runId);
    if (!run) continue;
    if (e.event === 'runFinished') run.end = e.info;
    else if (e.event === 'stageStarted') run.stages.push({ start: e.info, metrics: [] });
    else {
      const open = run.stages.find((s) => s.start?.stage === e.info.stage && !s.end);
      const ended = { end: e.info, metrics: e.metrics, ...(e.final ? { final: e.final } : {}) };
      if (open) Object.assign(open, ended);
      else run.stages.push(ended);
    }
  }
  return [...runs.values()];
}
