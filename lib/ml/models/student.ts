import type * as tfTypes from '@tensorflow/tfjs';
import type { Tf } from '../backend/backend.js';
import type { TrainingInputs } from '../data/train-data.js';
import { ENCODER_DIR } from '../teacher/encoder-folder.js';
import type { MlParams } from '../params.js';
import { studentInput, type StudentInput } from '../text/student-tokenizer.js';
import { buildStudent } from './models.js';
import { saveLayersModel } from './model-io.js';
import { checkSizeBudget, studentModel } from './student-sizes.js';

/** What train-student and train-baseline share: the student's input, its architecture and how it is saved. */
export interface StudentSpec {
  input: StudentInput;
  build: (seed: number) => tfTypes.LayersModel;
  /** Writes the model with its tokenizer beside it. */
  save: (model: tfTypes.LayersModel, dir: string) => Promise<void>;
  /** Input paths besides the splits and vocab that identify a checkpoint (the encoder's tokenizer). */
  extraInputs: string[];
}

/**
 * The student of `params` (size, tokenizer, model keys), checked against its size's parameter
 * budget before anything is trained or written.
 */
export function studentSpec(tf: Tf, root: string, params: MlParams, inputs: TrainingInputs): StudentSpec {
  const input = studentInput(root, params, inputs.train.map((example) => example.text), inputs.vocab);
  const model = studentModel(params.student);
  const build = (seed: number) => buildStudent(tf, model, { vocabSize: input.vocabSize, numClasses: inputs.labels.length, seed });
  const probe = build(params.seed);
  const count = probe.countParams();
  probe.dispose();
  checkSizeBudget(params.student, count, input.vocabSize);
  return {
    input,
    build,
    save: (trained, dir) => saveLayersModel(trained, dir, input.files),
    extraInputs: params.student.tokenizer === 'encoder' ? [ENCODER_DIR] : [],
  };
}
