import { KdError } from '../../errors.js';
import type { MlParams, StudentModel, StudentSize, TrainParams } from '../params.js';

/**
 * The sizes a user picks by device. Budgets are fractions of the default teacher
 * (all-MiniLM-L6-v2 + head: 22.6M parameters): tiny ≥ 100× smaller (a phone keyboard, ~200 kB as
 * uint8), small ≥ 30×, base ≥ 10× (a server). Nearly all of a student's parameters sit in its
 * embedding table (pieces × embedding_dim), so the sizes differ mainly in embedding width; the
 * convolutions give the student word order, which a bag of embeddings lacks (docs/distill-bench.md).
 */
export const SIZE_PRESETS: Record<StudentSize, { model: StudentModel; maxParams: number }> = {
  tiny: { model: { arch: 'cnn', embedding_dim: 8, filters: 32, kernel_sizes: [1, 2, 3], hidden: 0, dropout: 0 }, maxParams: 226_000 },
  small: { model: { arch: 'cnn', embedding_dim: 24, filters: 96, kernel_sizes: [1, 2, 3], hidden: 0, dropout: 0 }, maxParams: 753_000 },
  // base has no hidden layer: with one it overfit the transfer set (0.871 over seeds 42–44 against 0.885 without, docs/distill-bench.md).
  base: { model: { arch: 'cnn', embedding_dim: 64, filters: 128, kernel_sizes: [1, 2, 3, 4], hidden: 0, dropout: 0 }, maxParams: 2_261_000 },
};

/** The size's architecture with the user's `student.model` keys laid over it. */
export function studentModel(student: MlParams['student']): StudentModel {
  return { ...SIZE_PRESETS[student.size].model, ...student.model };
}

/** The student's training settings: `student.train` with the size's `student.train_by_size` keys laid over it. */
export function studentTrain(student: MlParams['student']): TrainParams {
  return { ...student.train, ...student.train_by_size[student.size] };
}

/** Refuses a student over its size's budget, naming the keys that set its parameter count. */
export function checkSizeBudget(student: MlParams['student'], params: number, vocabSize: number): void {
  const { maxParams } = SIZE_PRESETS[student.size];
  if (params <= maxParams) return;
  const model = studentModel(student);
  const set = Object.keys(student.model).map((key) => `student.model.${key}`);
  throw new KdError(
    `params.yaml: student.size ${student.size} allows at most ${maxParams.toLocaleString('en-US')} parameters, but this student has ` +
      `${params.toLocaleString('en-US')} (${vocabSize.toLocaleString('en-US')} ${student.tokenizer === 'encoder' ? 'pieces' : 'words'} × ` +
      `embedding_dim ${model.embedding_dim}${model.arch === 'cnn' ? `, ${model.filters} filters × kernel_sizes [${model.kernel_sizes.join(', ')}]` : ''}` +
      `${model.hidden > 0 ? `, hidden ${model.hidden}` : ''})${set.length > 0 ? `; set by ${set.join(', ')}` : ''}: ` +
      `lower student.model.embedding_dim (or vocab.max_size), or pick a larger student.size`,
  );
}
