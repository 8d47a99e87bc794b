import type * as tfTypes from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { loadTf, type Tf } from '../../lib/ml/backend/backend.js';
import { buildStudent, buildTeacherMember } from '../../lib/ml/models/models.js';
import { trainModel } from '../../lib/ml/train/train.js';
import { needs } from '../prerequisites.js';

// @tensorflow/tfjs-node is not a dependency: `npm run native` (scripts/native.mjs) builds it
// against the tensorflow-cpu wheel's C library, and .ci/run does so before the tests. Loading it
// is the check, not finding it: a build whose libtensorflow is gone resolves but cannot load.
// Without it this file is skipped and says so, or fails under CI=true.
async function nativeMissing(): Promise<string | undefined> {
  const attempt = (await loadTf()).info.attempts.find((a) => a.package === '@tensorflow/tfjs-node');
  return attempt?.loaded ? undefined : `@tensorflow/tfjs-node does not load (${attempt?.error ?? 'not tried'})`;
}
const withNative = needs(await nativeMissing(), 'build it with `npm run native` (or `npm run setup`; about a minute, needs a C++ compiler and python3 with pip; docs/native.md)');

// A toy task with every ingredient of the real models: token 2 or 3 anywhere in the sequence
// decides the class, the rest is noise from a 24-token vocabulary.
function rows(tf: Tf, n: number, offset: number) {
  const ids: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = (i + offset) % 2;
    const seq = Array.from({ length: 10 }, (_, j) => 4 + ((i * 7 + j * 5 + offset) % 20));
    seq[(i * 3) % 10] = label ? 2 : 3;
    if (i % 4 === 0) seq.fill(0, 7); // some padding
    ids.push(seq);
    y.push(label);
  }
  return { ids: tf.tensor2d(ids, undefined, 'int32'), labels: tf.tensor1d(y, 'int32') };
}

const teacherParams = { members: ['cnn' as const], embedding_dim: 16, cnn: { filters: 8, kernel_sizes: [2, 3] }, bilstm: { units: 4 }, hidden: 8, dropout: 0.5 };
const trainParams = { epochs: 6, batch_size: 16, learning_rate: 0.01, warmup_epochs: 1, decay: 'cosine' as const, patience: 6 };

async function trainOn(tf: Tf, backend: string, kind: 'teacher' | 'student') {
  await tf.setBackend(backend);
  const shape = { vocabSize: 24, maxLen: 10, numClasses: 2, seed: 7 };
  const model =
    kind === 'teacher'
      ? buildTeacherMember(tf, 'cnn', teacherParams as Parameters<typeof buildTeacherMember>[2], shape)
      : buildStudent(tf, { arch: 'pool', embedding_dim: 6, hidden: 0, filters: 1, kernel_sizes: [1] }, shape);
  const train = rows(tf, 96, 0);
  const val = rows(tf, 32, 1);
  const loss = (logits: tfTypes.Tensor2D, b: { labels: tfTypes.Tensor1D }) => tf.losses.softmaxCrossEntropy(tf.oneHot(b.labels, 2), logits) as tfTypes.Scalar;
  const history = await trainModel(tf, model, train, val, trainParams, loss, 11);
  const probs = tf.tidy(() => (model.predict(val.ids) as tfTypes.Tensor2D).softmax().arraySync());
  model.dispose();
  tf.dispose([train.ids, train.labels, val.ids, val.labels]);
  return { history, probs };
}

withNative.describe('native backend (@tensorflow/tfjs-node from `npm run native`)', () => {
  it('is the backend lib/ml/backend/backend.ts picks', async () => {
    const { tf, info } = await loadTf();
    expect(info).toMatchObject({ backend: 'tensorflow', package: '@tensorflow/tfjs-node' });
    expect(tf.getBackend()).toBe('tensorflow');
  });

  for (const kind of ['teacher', 'student'] as const) {
    it(`trains the ${kind} like the pure-JS cpu backend from the same seed (losses, accuracies, predictions)`, async () => {
      const { tf } = await loadTf();
      const native = await trainOn(tf, 'tensorflow', kind);
      const cpu = await trainOn(tf, 'cpu', kind);
      await tf.setBackend('tensorflow');
      expect(native.history).toHaveLength(cpu.history.length);
      native.history.forEach((row, i) => {
        const ref = cpu.history[i]!;
        expect(row.loss).toBeCloseTo(ref.loss, 4);
        expect(row.val_loss).toBeCloseTo(ref.val_loss, 4);
        expect(row.accuracy).toBe(ref.accuracy);
        expect(row.val_accuracy).toBe(ref.val_accuracy);
      });
      // The task is learnt (so the comparison is not between two untrained models)…
      expect(native.history.at(-1)!.val_accuracy).toBeGreaterThanOrEqual(0.8);
      // …and every predicted probability agrees.
      native.probs.flat().forEach((p, i) => expect(p).toBeCloseTo(cpu.probs.flat()[i]!, 4));
    });
  }
});
