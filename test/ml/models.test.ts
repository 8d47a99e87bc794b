import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type * as tfTypes from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { loadTf } from '../../lib/ml/backend/backend.js';
import { loadLayersModel, saveLayersModel } from '../../lib/ml/models/model-io.js';
import { buildStudent, buildTeacherMember } from '../../lib/ml/models/models.js';
import { MASKED_POOLING, ZERO_PADS } from '../../lib/ml/models/masked-layers.js';
import { SIZE_PRESETS, studentModel, studentTrain } from '../../lib/ml/models/student-sizes.js';
import { loadMlParams, STUDENT_SIZES } from '../../lib/ml/params.js';
import { readEncoderModel } from '../../lib/ml/teacher/encoder-model.js';
import { defaultEncoderDir } from './encoder-fixture.js';
import { setDropoutStep, STEP_DROPOUT, stepDropoutClass } from '../../lib/ml/models/step-dropout.js';

const { tf } = await loadTf();
const params = loadMlParams(path.resolve('.'));
const shape = { vocabSize: params.vocab.max_size, maxLen: params.text.max_len, numClasses: 2, seed: 7 };

describe('models', () => {
  it('each student size, over 25,000 pieces, keeps its budget: ≥ 100× / 30× / 10× fewer parameters than the default transformer teacher', () => {
    expect(params.teacher.members).toEqual(['transformer']);
    const teacher = readEncoderModel(path.join(defaultEncoderDir(), 'onnx/model_quantized.onnx')).params;
    const ratios = { tiny: 100, small: 30, base: 10 } as const;
    for (const size of STUDENT_SIZES) {
      const student = buildStudent(tf, studentModel({ ...params.student, size, model: {} }), { ...shape, vocabSize: 25_000 }).countParams();
      expect(student).toBeLessThanOrEqual(SIZE_PRESETS[size].maxParams);
      expect(teacher / SIZE_PRESETS[size].maxParams).toBeGreaterThanOrEqual(ratios[size]);
    }
  });

  it('student.train_by_size changes only the keys it names, for its size only', () => {
    expect(params.student.train_by_size).toEqual({ tiny: { epochs: 8, ema_momentum: 0.99 } });
    const student = { ...params.student, train_by_size: { base: { learning_rate: 0.01 } } };
    expect(studentTrain({ ...student, size: 'base' })).toEqual({ ...params.student.train, learning_rate: 0.01 });
    expect(studentTrain({ ...student, size: 'small' })).toEqual(params.student.train);
  });

  it('a student gives a text the same logits whatever its batch is padded to, and loads again after saving', async () => {
    const tiny = { vocabSize: 20, numClasses: 2, seed: 3 };
    for (const arch of ['pool', 'cnn'] as const) {
      const model = buildStudent(tf, { arch, embedding_dim: 4, hidden: 3, filters: 5, kernel_sizes: [1, 2, 3] }, tiny);
      const alone = (model.predict(tf.tensor2d([[2, 3, 4]], undefined, 'int32')) as tfTypes.Tensor).arraySync() as number[][];
      const padded = (model.predict(tf.tensor2d([[2, 3, 4, 0, 0, 0, 0], [5, 6, 7, 8, 9, 10, 11]], undefined, 'int32')) as tfTypes.Tensor).arraySync() as number[][];
      padded[0]!.forEach((logit, c) => expect(logit).toBeCloseTo(alone[0]![c]!, 5));
      const empty = (model.predict(tf.tensor2d([[0, 0]], undefined, 'int32')) as tfTypes.Tensor).arraySync() as number[][];
      expect(empty[0]!.every(Number.isFinite)).toBe(true);
      const dir = mkdtempSync(path.join(tmpdir(), 'kd-models-'));
      try {
        await saveLayersModel(model, dir);
        const loaded = await loadLayersModel(dir);
        expect((loaded.predict(tf.tensor2d([[2, 3, 4]], undefined, 'int32')) as tfTypes.Tensor).arraySync()).toEqual(alone);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  it('every architecture maps [batch, length] ids to [batch, classes] logits, identically for the same seed', () => {
    const tiny = { vocabSize: 20, maxLen: 6, numClasses: 3, seed: 1 };
    const ids = tf.tensor2d([[2, 3, 4, 5, 0, 0]], undefined, 'int32');
    const teacherParams = { ...params.teacher, embedding_dim: 4, cnn: { filters: 3, kernel_sizes: [2, 3] }, bilstm: { units: 3 }, hidden: 4 };
    const models = () => [
      buildTeacherMember(tf, 'cnn', teacherParams, tiny),
      buildTeacherMember(tf, 'bilstm', teacherParams, tiny),
      buildStudent(tf, { arch: 'pool', embedding_dim: 4, hidden: 0, filters: 1, kernel_sizes: [3] }, tiny),
      buildStudent(tf, { arch: 'cnn', embedding_dim: 4, hidden: 2, filters: 4, kernel_sizes: [3] }, tiny),
      buildStudent(tf, { arch: 'cnn', embedding_dim: 4, hidden: 0, filters: 5, kernel_sizes: [1, 2] }, tiny),
    ];
    const first = models().map((m) => (m.predict(ids) as import('@tensorflow/tfjs').Tensor).arraySync());
    const second = models().map((m) => (m.predict(ids) as import('@tensorflow/tfjs').Tensor).arraySync());
    for (const out of first) expect((out as number[][])[0]).toHaveLength(3);
    expect(second).toEqual(first);
  });

  it('draws a new dropout mask on every training call, the same mask for the same seed and step, none at inference', () => {
    const Dropout = stepDropoutClass(tf);
    const x = tf.ones([4, 64]);
    const layer = new Dropout({ rate: 0.5, seed: 9 });
    const mask = (training: boolean) => (layer.apply(x, { training }) as tfTypes.Tensor).arraySync();
    const first = mask(true);
    const second = mask(true);
    expect(layer.step).toBe(2);
    expect(second).not.toEqual(first);
    // Kept units are scaled by 1 / (1 - rate); about half are dropped.
    const flat = (first as number[][]).flat();
    expect(new Set(flat)).toEqual(new Set([0, 2]));
    expect(flat.filter((v) => v === 0).length).toBeGreaterThan(64);
    expect(flat.filter((v) => v === 0).length).toBeLessThan(192);
    layer.step = 0;
    expect(mask(true)).toEqual(first);
    const twin = new Dropout({ rate: 0.5, seed: 9 });
    twin.step = 1;
    expect((twin.apply(x, { training: true }) as tfTypes.Tensor).arraySync()).toEqual(second);
    expect((new Dropout({ rate: 0.5, seed: 10 }).apply(x, { training: true }) as tfTypes.Tensor).arraySync()).not.toEqual(first);
    expect(mask(false)).toEqual(x.arraySync());
  });

  it('a teacher with dropout sets its step from the training loop and loads again after saving', async () => {
    const tiny = { vocabSize: 20, maxLen: 6, numClasses: 2, seed: 1 };
    const teacherParams = { ...params.teacher, embedding_dim: 4, cnn: { filters: 3, kernel_sizes: [2] }, hidden: 0, dropout: 0.5 };
    const model = buildTeacherMember(tf, 'cnn', teacherParams, tiny);
    const ids = tf.tensor2d([[2, 3, 4, 5, 0, 0]], undefined, 'int32');
    const train = (step: number) => {
      setDropoutStep(tf, model, step);
      return (model.apply(ids, { training: true }) as tfTypes.Tensor).arraySync();
    };
    expect(train(5)).toEqual(train(5));
    expect(train(6)).not.toEqual(train(5));
    const dir = mkdtempSync(path.join(tmpdir(), 'kd-models-'));
    try {
      await saveLayersModel(model, dir);
      expect(readFileSync(path.join(dir, 'model.json'), 'utf8')).toContain(`"class_name":"${STEP_DROPOUT}"`);
      const loaded = await loadLayersModel(dir);
      expect((loaded.predict(ids) as tfTypes.Tensor).arraySync()).toEqual((model.predict(ids) as tfTypes.Tensor).arraySync());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the student has no dropout layer: its only custom classes are the masked layers the browser page registers', () => {
    const student = buildStudent(tf, studentModel(params.student), shape);
    const classes = new Set(student.layers.map((l) => l.getClassName()));
    expect([...classes].sort()).toEqual(['Concatenate', 'Conv1D', 'Dense', 'Embedding', 'InputLayer', MASKED_POOLING, ZERO_PADS].sort());
  });
});
