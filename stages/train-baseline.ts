import { runHardLabelStage } from '../lib/ml/train/hard-label-stage.js';
import { buildStudent } from '../lib/ml/models/models.js';

/** The student's architecture, seed and schedule on the hard labels alone: what distillation is measured against. */
export async function run(root: string): Promise<void> {
  await runHardLabelStage(root, {
    name: 'baseline',
    members: async ({ tf, params, shape, tokens }) => [{ kind: params.student.model.arch, build: (seed: number) => buildStudent(tf, params.student.model, { ...shape, seed }), ...tokens }],
    memberDirs: false,
    trainParams: (params) => params.student.train,
    fingerprintParams: (params) => ({ seed: params.seed, max_len: params.text.max_len, model: params.student.model, train: params.student.train }),
  });
}
