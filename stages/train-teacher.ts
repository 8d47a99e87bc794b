import { runHardLabelStage } from '../lib/ml/train/hard-label-stage.js';
import { buildTeacherMember } from '../lib/ml/models/models.js';
import { TRANSFORMER_INPUTS, transformerMember } from '../lib/ml/teacher/transformer-member.js';

/**
 * Trains each `teacher.members` entry on the hard labels (an ensemble = several member-<i>/ dirs):
 * a CNN or BiLSTM over the vocabulary, or a head on a pretrained transformer's embeddings.
 */
export async function run(root: string): Promise<void> {
  await runHardLabelStage(root, {
    name: 'teacher',
    members: async ({ tf, params, inputs, shape, tokens }) =>
      Promise.all(
        params.teacher.members.map((kind) =>
          kind === 'transformer'
            ? transformerMember(tf, root, params, inputs.train, inputs.val, inputs.labels)
            : { kind, build: (seed: number) => buildTeacherMember(tf, kind, params.teacher, { ...shape, seed }), ...tokens },
        ),
      ),
    memberDirs: true,
    trainParams: (params) => params.teacher.train,
    fingerprintParams: (params) => ({ seed: params.seed, max_len: params.text.max_len, teacher: params.teacher }),
    extraInputs: (params) => (params.teacher.members.includes('transformer') ? TRANSFORMER_INPUTS : []),
  });
}
