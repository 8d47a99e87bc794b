import { loadTf } from '../lib/ml/backend.js';
import { buildTeacherMember } from '../lib/ml/models.js';
import { loadMlParams } from '../lib/ml/params.js';
import { crossEntropyLoss, DATA_DIR, hardLabelData, modelShape, readTrainingInputs, VOCAB_FILE } from '../lib/ml/train-data.js';
import { runTrainingStage } from '../lib/ml/train-stage.js';

/** Trains each `teacher.members` entry on the hard labels (an ensemble = several member-<i>/ dirs). */
export async function run(root: string): Promise<void> {
  const params = loadMlParams(root);
  const { tf, info } = await loadTf();
  const inputs = readTrainingInputs(root);
  const maxLen = params.text.max_len;
  const shape = modelShape(inputs, maxLen);
  await runTrainingStage(tf, info, {
    name: 'teacher',
    root,
    members: params.teacher.members.map((kind) => ({ kind, build: (seed: number) => buildTeacherMember(tf, kind, params.teacher, { ...shape, seed }) })),
    memberDirs: true,
    train: hardLabelData(tf, inputs.train, inputs.vocab, maxLen),
    val: hardLabelData(tf, inputs.val, inputs.vocab, maxLen),
    trainParams: params.teacher.train,
    loss: crossEntropyLoss(tf, shape.numClasses),
    seed: params.seed,
    fingerprint: { params: { seed: params.seed, max_len: maxLen, teacher: params.teacher }, inputs: [DATA_DIR, VOCAB_FILE] },
  });
}
