import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { writeDirAtomic } from '../../atomic-dir.js';
import { isAbsent } from '../../read-file.js';
import { KdError } from '../../errors.js';
import type { ModelEvaluation } from './evaluation.js';

/**
 * The teacher scored on the test split, by its own stage (evaluate-teacher): a sweep over student
 * keys reruns evaluate for every trial, and the teacher, the same in all of them, is then read from
 * here instead of being encoded and timed again (on a queue worker's fresh clone, with no
 * embedding cache, that was most of a trial's evaluate).
 */
export const TEACHER_EVALUATION_DIR = 'artifacts/teacher-eval';
const FILE = 'evaluation.json';

// The fields evaluate reads; the rest (the report's per-class figures, latency) travel as written.
const evaluationSchema = z
  .object({
    name: z.literal('teacher'),
    predictions: z.array(z.number().int().nonnegative()),
    report: z.object({ accuracy: z.number() }).loose(),
    ece: z.number(),
    reliability: z.array(z.unknown()),
    params: z.number(),
    sizeBytes: z.number(),
    latency: z.object({ p50_ms: z.number() }).loose(),
    unseenWordAccuracy: z.number().nullable(),
  })
  .loose();

export async function writeTeacherEvaluation(root: string, evaluation: ModelEvaluation): Promise<void> {
  await writeDirAtomic(path.join(root, TEACHER_EVALUATION_DIR), (tmp) => writeFileSync(path.join(tmp, FILE), `${JSON.stringify(evaluation)}\n`));
}

/** The teacher's evaluation, checked against the test split it must describe (`rows` rows). */
export function readTeacherEvaluation(root: string, rows: number): ModelEvaluation {
  const rel = `${TEACHER_EVALUATION_DIR}/${FILE}`;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path.join(root, rel), 'utf8'));
  } catch (error) {
    if (isAbsent(error)) throw new KdError(`evaluate: missing input ${rel} (run the stages that produce it first)`);
    throw new KdError(`${rel}: not valid JSON (${(error as Error).message}); run evaluate-teacher again`);
  }
  const parsed = evaluationSchema.safeParse(raw);
  if (!parsed.success) throw new KdError(`${rel}: not a teacher evaluation (${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}); run evaluate-teacher again`);
  if (parsed.data.predictions.length !== rows) {
    throw new KdError(`${rel}: scores ${parsed.data.predictions.length} test sentences, the test split has ${rows}; run evaluate-teacher again`);
  }
  return parsed.data as unknown as ModelEvaluation;
}
