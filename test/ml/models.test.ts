import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTf } from '../../lib/ml/backend.js';
import { buildStudent, buildTeacherMember } from '../../lib/ml/models.js';
import { loadMlParams } from '../../lib/ml/params.js';

const { tf } = await loadTf();
const params = loadMlParams(path.resolve('.'));
const shape = { vocabSize: params.vocab.max_size, maxLen: params.text.max_len, numClasses: 2, seed: 7 };

describe('models', () => {
  it('the default student has at least 10× fewer parameters than the default teacher', () => {
    const teacher = params.teacher.members.reduce((sum, kind) => sum + buildTeacherMember(tf, kind, params.teacher, shape).countParams(), 0);
    const student = buildStudent(tf, params.student.model, shape).countParams();
    expect(teacher / student).toBeGreaterThanOrEqual(10);
  });

  it('every architecture maps [batch, maxLen] ids to [batch, classes] logits, identically for the same seed', () => {
    const tiny = { vocabSize: 20, maxLen: 6, numClasses: 3, seed: 1 };
    const ids = tf.tensor2d([[2, 3, 4, 5, 0, 0]], undefined, 'int32');
    const teacherParams = { ...params.teacher, embedding_dim: 4, cnn: { filters: 3, kernel_sizes: [2, 3] }, bilstm: { units: 3 }, hidden: 4 };
    const models = () => [
      buildTeacherMember(tf, 'cnn', teacherParams, tiny),
      buildTeacherMember(tf, 'bilstm', teacherParams, tiny),
      buildStudent(tf, { arch: 'pool', embedding_dim: 4, hidden: 0 }, tiny),
      buildStudent(tf, { arch: 'cnn', embedding_dim: 4, hidden: 2 }, tiny),
    ];
    const first = models().map((m) => (m.predict(ids) as import('@tensorflow/tfjs').Tensor).arraySync());
    const second = models().map((m) => (m.predict(ids) as import('@tensorflow/tfjs').Tensor).arraySync());
    for (const out of first) expect((out as number[][])[0]).toHaveLength(3);
    expect(second).toEqual(first);
  });
});
