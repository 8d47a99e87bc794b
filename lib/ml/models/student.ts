import type * as tfTypes from '@tensorflow/tfjs';
import type { Tf } from '../backend/backend.js';
import type { TrainingInputs } from '../data/train-data.js';
import path from 'node:path';
import { ENCODER_DIR, onnxFileFor, readEncoderFolder } from '../teacher/encoder-folder.js';
import { onnxWordEmbeddings } from '../teacher/onnx-params.js';
import { pcaEmbeddings, pullTowardStart } from './embedding-init.js';
import { forSize, type MlParams } from '../params.js';
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
  /** `student.init_penalty`'s pull of the piece table toward its encoder start; absent when there is none. */
  penalty?: (model: tfTypes.LayersModel) => () => tfTypes.Scalar;
}

function embeddingTable(model: tfTypes.LayersModel): tfTypes.Variable {
  return model.layers.find((layer) => layer.getClassName() === 'Embedding')!.trainableWeights[0]!.read() as tfTypes.Variable;
}

/** The teacher's input piece embeddings reduced to `dim` by PCA, rows in the student's id order (null when the ONNX file has no such table). */
function encoderEmbeddings(tf: Tf, root: string, params: MlParams, encoderIds: Int32Array, dim: number): tfTypes.Tensor2D | null {
  const { dir } = readEncoderFolder(root);
  const vocabRows = Math.max(...encoderIds) + 1;
  const table = onnxWordEmbeddings(path.join(dir, onnxFileFor(params.teacher.transformer.dtype)), vocabRows);
  if (!table) {
    process.stderr.write(`train: ${ENCODER_DIR} has no word-embedding table the student can start from: random initialisation\n`);
    return null;
  }
  return pcaEmbeddings(tf, table, encoderIds, dim, params.seed);
}

/**
 * The student of `params` (size, tokenizer, model keys), checked against its size's parameter
 * budget before anything is trained or written.
 */
export function studentSpec(tf: Tf, root: string, params: MlParams, inputs: TrainingInputs): StudentSpec {
  const input = studentInput(root, params, inputs.train.map((example) => example.text), inputs.vocab);
  const model = studentModel(params.student);
  const initial = params.student.init === 'encoder' && input.encoderIds ? encoderEmbeddings(tf, root, params, input.encoderIds, model.embedding_dim) : null;
  const shape = { vocabSize: input.vocabSize, numClasses: inputs.labels.length };
  const build = (seed: number) => {
    const student = buildStudent(tf, model, { ...shape, seed });
    if (initial) embeddingTable(student).assign(initial);
    return student;
  };
  // Dropout only trains: the student is saved as the same layers without it (dropout holds no weights).
  const save = async (trained: tfTypes.LayersModel, dir: string) => {
    if (model.dropout === 0) return saveLayersModel(trained, dir, input.files);
    const plain = buildStudent(tf, { ...model, dropout: 0 }, { ...shape, seed: params.seed });
    plain.setWeights(trained.getWeights());
    try {
      await saveLayersModel(plain, dir, input.files);
    } finally {
      plain.dispose();
    }
  };
  const probe = build(params.seed);
  const count = probe.countParams();
  probe.dispose();
  checkSizeBudget(params.student, count, input.vocabSize);
  const weight = forSize(params.student.init_penalty, params.student.size);
  const penalty = initial && weight > 0 ? (trained: tfTypes.LayersModel) => pullTowardStart(tf, embeddingTable(trained), initial, weight) : undefined;
  return {
    input,
    build,
    save,
    extraInputs: params.student.tokenizer === 'encoder' ? [ENCODER_DIR] : [],
    ...(penalty ? { penalty } : {}),
  };
}
