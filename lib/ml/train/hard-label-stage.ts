import { loadTf, type Tf } from '../backend/backend.js';
import type { ModelShape } from '../models/models.js';
import { loadMlParams, type MlParams } from '../params.js';
import { crossEntropyLoss, DATA_DIR, hardLabelData, modelShape, readTrainingInputs, VOCAB_FILE, type TrainingInputs } from '../data/train-data.js';
import type { TrainData } from './train.js';
import { runTrainingStage, type TrainMember } from './train-stage.js';

/** What a stage's members are built from: the params, the splits, and the splits as token ids. */
export interface MemberContext {
  tf: Tf;
  root: string;
  params: MlParams;
  inputs: TrainingInputs;
  shape: Omit<ModelShape, 'seed'>;
  /** The train and validation splits as token ids with their hard labels. */
  tokens: { train: TrainData; val: TrainData };
}

export interface HardLabelStage {
  name: string;
  /** The models to train (one, or an ensemble written to member-<i>/ dirs). */
  members(context: MemberContext): Promise<TrainMember[]>;
  memberDirs: boolean;
  trainParams(params: MlParams): MlParams['teacher']['train'];
  /** The params that identify a checkpoint of this stage. */
  fingerprintParams(params: MlParams): Record<string, unknown>;
  /** Inputs besides the splits and the vocab whose content identifies a checkpoint (e.g. the encoder folder). */
  extraInputs?(params: MlParams): string[];
}

/** A stage that trains on the hard labels alone (the teacher, and the no-teacher baseline). */
export async function runHardLabelStage(root: string, stage: HardLabelStage): Promise<void> {
  const params = loadMlParams(root);
  const { tf, info } = await loadTf();
  const inputs = readTrainingInputs(root);
  const maxLen = params.text.max_len;
  const shape = modelShape(inputs, maxLen);
  const tokens = { train: hardLabelData(tf, inputs.train, inputs.vocab, maxLen), val: hardLabelData(tf, inputs.val, inputs.vocab, maxLen) };
  await runTrainingStage(tf, info, {
    name: stage.name,
    root,
    members: await stage.members({ tf, root, params, inputs, shape, tokens }),
    memberDirs: stage.memberDirs,
    trainRows: inputs.train.length,
    valLabels: inputs.val.map((example) => example.y),
    trainParams: stage.trainParams(params),
    loss: crossEntropyLoss(tf, shape.numClasses),
    seed: params.seed,
    fingerprint: { params: stage.fingerprintParams(params), inputs: [DATA_DIR, VOCAB_FILE, ...(stage.extraInputs?.(params) ?? [])] },
  });
}
