import type * as tfTypes from '@tensorflow/tfjs';
import { loadTf, type Tf } from '../backend/backend.js';
import type { ModelShape } from '../models/models.js';
import { loadMlParams, type MlParams } from '../params.js';
import { crossEntropyLoss, DATA_DIR, hardLabelData, modelShape, readTrainingInputs, VOCAB_FILE } from '../data/train-data.js';
import { runTrainingStage } from './train-stage.js';

export interface HardLabelStage {
  name: string;
  /** The models to train (one, or an ensemble written to member-<i>/ dirs). */
  members(tf: Tf, params: MlParams, shape: Omit<ModelShape, 'seed'>): { kind: string; build(seed: number): tfTypes.LayersModel }[];
  memberDirs: boolean;
  trainParams(params: MlParams): MlParams['teacher']['train'];
  /** The params that identify a checkpoint of this stage. */
  fingerprintParams(params: MlParams): Record<string, unknown>;
}

/** A stage that trains on the hard labels alone (the teacher, and the no-teacher baseline). */
export async function runHardLabelStage(root: string, stage: HardLabelStage): Promise<void> {
  const params = loadMlParams(root);
  const { tf, info } = await loadTf();
  const inputs = readTrainingInputs(root);
  const maxLen = params.text.max_len;
  const shape = modelShape(inputs, maxLen);
  await runTrainingStage(tf, info, {
    name: stage.name,
    root,
    members: stage.members(tf, params, shape),
    memberDirs: stage.memberDirs,
    train: hardLabelData(tf, inputs.train, inputs.vocab, maxLen),
    val: hardLabelData(tf, inputs.val, inputs.vocab, maxLen),
    trainParams: stage.trainParams(params),
    loss: crossEntropyLoss(tf, shape.numClasses),
    seed: params.seed,
    fingerprint: { params: stage.fingerprintParams(params), inputs: [DATA_DIR, VOCAB_FILE] },
  });
}
