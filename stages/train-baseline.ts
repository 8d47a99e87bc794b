import { loadTf } from '../lib/ml/backend.js';
import { buildStudent } from '../lib/ml/models.js';
import { loadMlParams } from '../lib/ml/params.js';
import { crossEntropyLoss, DATA_DIR, hardLabelData, modelShape, readTrainingInputs, VOCAB_FILE } from '../lib/ml/train-data.js';
import { runTrainingStage } from '../lib/ml/train-stage.js';

/** The student's architecture, seed and schedule on the hard labels alone: what distillation is measured against. */
export async function run(root: string): Promise<void> {
  const params = loadMlParams(root);
  const { tf, info } = await loadTf();
  const inputs = readTrainingInputs(root);
  const maxLen = params.text.max_len;
  const shape = modelShape(inputs, maxLen);
  await runTrainingStage(tf, info, {
    name: 'baseline',
    root,
    members: [{ kind: params.student.model.arch, build: (seed: number) => buildStudent(tf, params.student.model, { ...shape, seed }) }],
    memberDirs: false,
    train: hardLabelData(tf, inputs.train, inputs.vocab, maxLen),
    val: hardLabelData(tf, inputs.val, inputs.vocab, maxLen),
    trainParams: params.student.train,
    loss: crossEntropyLoss(tf, shape.numClasses),
    seed: params.seed,
    fingerprint: { params: { seed: params.seed, max_len: maxLen, model: params.student.model, train: params.student.train }, inputs: [DATA_DIR, VOCAB_FILE] },
  });
}
