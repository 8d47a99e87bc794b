import { runHardLabelStage } from '../lib/ml/train/hard-label-stage.js';
import { studentHardLabelData } from '../lib/ml/data/train-data.js';
import { studentSpec } from '../lib/ml/models/student.js';
import { studentTrain } from '../lib/ml/models/student-sizes.js';
import { ENCODER_DIR } from '../lib/ml/teacher/encoder-folder.js';

/** The student's architecture, tokenizer, seed and schedule on the hard labels alone: what distillation is measured against. */
export async function run(root: string): Promise<void> {
  await runHardLabelStage(root, {
    name: 'baseline',
    members: async ({ tf, root: dir, params, inputs }) => {
      // Without the teacher means without its embeddings too: student.init does not reach the baseline (nor its declared params).
      const student = studentSpec(tf, dir, { ...params, student: { ...params.student, init: 'random' } }, inputs);
      const { encoder } = student.input;
      return [{ kind: params.student.size, build: student.build, save: student.save, train: studentHardLabelData(tf, encoder, inputs.train), val: studentHardLabelData(tf, encoder, inputs.val) }];
    },
    memberDirs: false,
    trainParams: (params) => studentTrain(params.student),
    fingerprintParams: (params) => ({ seed: params.seed, max_len: params.text.max_len, size: params.student.size, tokenizer: params.student.tokenizer, max_tokens: params.student.max_tokens, model: params.student.model, train: studentTrain(params.student) }),
    extraInputs: (params) => (params.student.tokenizer === 'encoder' ? [ENCODER_DIR] : []),
  });
}
