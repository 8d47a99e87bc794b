import path from 'node:path';
import { loadTf } from '../lib/ml/backend/backend.js';
import { distillationLoss } from '../lib/ml/distill.js';
import { studentSpec } from '../lib/ml/models/student.js';
import { studentTrain } from '../lib/ml/models/student-sizes.js';
import { loadMlParams } from '../lib/ml/params.js';
import { readTransferSet, SOFT_LABELS_DIR } from '../lib/ml/train/soft-labels.js';
import { DATA_DIR, readTrainingInputs, studentHardLabelData, studentIds, VOCAB_FILE } from '../lib/ml/data/train-data.js';
import { runTrainingStage } from '../lib/ml/train/train-stage.js';
import { KdError } from '../lib/errors.js';

/**
 * Distils the teacher into the student on the transfer set (training sentences + augmented ones):
 * loss = distillationLoss with student.temperature/alpha/loss. Augmented rows carry no hard label,
 * so they are marked unlabelled and only the soft (teacher) term reaches them. The student reads
 * each row's text as the teacher did (a masked word is the mask token, a piece of its own).
 */
export async function run(root: string): Promise<void> {
  const params = loadMlParams(root);
  const { tf, info } = await loadTf();
  const inputs = readTrainingInputs(root);
  const { rows, meta } = readTransferSet(path.join(root, SOFT_LABELS_DIR));
  if (meta.classes !== inputs.labels.length) {
    throw new KdError(`${SOFT_LABELS_DIR}/meta.json: ${meta.classes} classes, but ${DATA_DIR}/labels.json has ${inputs.labels.length} (rerun generate-soft-labels)`);
  }
  const student = studentSpec(tf, root, params, inputs);
  const { encoder } = student.input;
  const { temperature, alpha, loss } = params.student;
  await runTrainingStage(tf, info, {
    name: 'student',
    root,
    members: [
      {
        kind: params.student.size,
        build: student.build,
        save: student.save,
        ...(student.penalty ? { penalty: student.penalty } : {}),
        train: {
          ...studentIds(tf, encoder, rows),
          // Unlabelled rows get a placeholder class 0 that `labelled` = 0 masks out of every hard-label term.
          labels: tf.tensor1d(rows.map((row) => row.y ?? 0), 'int32'),
          labelled: tf.tensor1d(rows.map((row) => (row.y === null ? 0 : 1)), 'float32'),
          teacherLogits: tf.tensor2d(rows.map((row) => row.logits), [rows.length, meta.classes], 'float32'),
        },
        val: studentHardLabelData(tf, encoder, inputs.val),
      },
    ],
    memberDirs: false,
    trainRows: rows.length,
    valLabels: inputs.val.map((example) => example.y),
    trainParams: studentTrain(params.student),
    loss: (logits, batch) => distillationLoss(tf, logits, batch.teacherLogits!, batch.labels, { temperature, alpha, loss }, batch.labelled),
    seed: params.seed,
    fingerprint: { params: { seed: params.seed, max_len: params.text.max_len, student: params.student }, inputs: [DATA_DIR, VOCAB_FILE, SOFT_LABELS_DIR, ...student.extraInputs] },
  });
}
