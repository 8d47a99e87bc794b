import { runHardLabelStage } from '../lib/ml/train/hard-label-stage.js';
import { buildTeacherMember } from '../lib/ml/models/models.js';

/** Trains each `teacher.members` entry on the hard labels (an ensemble = several member-<i>/ dirs). */
export async function run(root: string): Promise<void> {
  await runHardLabelStage(root, {
    name: 'teacher',
    members: (tf, params, shape) => params.teacher.members.map((kind) => ({ kind, build: (seed: number) => buildTeacherMember(tf, kind, params.teacher, { ...shape, seed }) })),
    memberDirs: true,
    trainParams: (params) => params.teacher.train,
    fingerprintParams: (params) => ({ seed: params.seed, max_len: params.text.max_len, teacher: params.teacher }),
  });
}
