import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTf } from '../../lib/ml/backend/backend.js';
import { pullTowardStart } from '../../lib/ml/models/embedding-init.js';
import { buildStudent, buildTeacherMember } from '../../lib/ml/models/models.js';
import { CheckpointDir } from '../../lib/ml/train/checkpoint.js';
import { learningRate, trainModel, type TrainState } from '../../lib/ml/train/train.js';

const { tf } = await loadTf();
const p = { epochs: 8, batch_size: 16, learning_rate: 0.05, warmup_epochs: 1, decay: 'cosine' as const, patience: 3, ema_momentum: 0 };

// Token 2 means positive, 3 negative: a separable toy task of 120 rows.
function data(n: number, offset: number) {
  const rows = Array.from({ length: n }, (_, i) => ({ y: (i + offset) % 2, ids: [(i + offset) % 2 ? 2 : 3, 4 + (i % 5), 0, 0] }));
  return { ids: tf.tensor2d(rows.map((r) => r.ids), undefined, 'int32'), labels: tf.tensor1d(rows.map((r) => r.y), 'int32') };
}

const hardLoss = (logits: import('@tensorflow/tfjs').Tensor2D, b: { labels: import('@tensorflow/tfjs').Tensor1D }) =>
  tf.losses.softmaxCrossEntropy(tf.oneHot(b.labels, 2), logits) as import('@tensorflow/tfjs').Scalar;

const poolStudent = () => buildStudent(tf, { arch: 'pool', embedding_dim: 4, hidden: 0, filters: 1, kernel_sizes: [1], dropout: 0 }, { vocabSize: 10, numClasses: 2, seed: 3 });
const values = (model: import('@tensorflow/tfjs').LayersModel) => model.getWeights().map((w) => Array.from(w.dataSync()));

async function run() {
  const model = poolStudent();
  const history = await trainModel(tf, model, data(120, 0), data(40, 1), p, hardLoss, 3);
  return { model, history };
}

describe('trainModel', () => {
  it('learns a separable task, logs each epoch and repeats exactly with the same seed', async () => {
    const a = await run();
    const b = await run();
    expect(a.history.at(-1)!.val_accuracy).toBe(1);
    expect(a.history[0]).toMatchObject({ epoch: 1, learning_rate: 0.025 });
    expect(b.history).toEqual(a.history);
  });

  it('warms up linearly then decays with a cosine', () => {
    expect(learningRate(p, 0)).toBeCloseTo(0.025);
    expect(learningRate(p, 1)).toBeCloseTo(0.05);
    expect(learningRate(p, 1 + 7 / 2)).toBeCloseTo(0.025);
    expect(learningRate({ ...p, decay: 'none' }, 6)).toBe(0.05);
  });

  it('a teacher with dropout resumed after epoch 1 ends exactly like an uninterrupted run', async () => {
    const q = { ...p, epochs: 3, patience: 3 };
    const teacherParams = { members: ['cnn' as const], embedding_dim: 4, cnn: { filters: 3, kernel_sizes: [2] }, bilstm: { units: 2 }, hidden: 0, dropout: 0.5, train: q };
    const build = () => buildTeacherMember(tf, 'cnn', teacherParams, { vocabSize: 10, maxLen: 4, numClasses: 2, seed: 5 });
    const full = build();
    let saved: TrainState | undefined;
    const fullHistory = await trainModel(tf, full, data(120, 0), data(40, 1), q, hardLoss, 3, {
      onEpoch: (_row, state) => {
        if (state.epoch === 1) {
          const clone = (ts: import('@tensorflow/tfjs').Tensor[]) => ts.map((t) => t.clone());
          saved = { ...state, weights: clone(state.weights), bestWeights: clone(state.bestWeights), optimizer: state.optimizer.map((w) => ({ name: w.name, tensor: w.tensor.clone() })) };
        }
      },
    });
    const resumed = build();
    const resumedHistory = await trainModel(tf, resumed, data(120, 0), data(40, 1), q, hardLoss, 3, { resume: saved! });
    expect(resumedHistory).toEqual(fullHistory);
    expect(resumed.getWeights().map((w) => Array.from(w.dataSync()))).toEqual(full.getWeights().map((w) => Array.from(w.dataSync())));
  });

  it('with ema_momentum the moving average is validated and kept, training itself is unchanged, and a run resumed from its checkpoint file ends exactly alike', async () => {
    const q = { ...p, epochs: 3, patience: 3, ema_momentum: 0.9 };
    const plain = poolStudent();
    const plainHistory = await trainModel(tf, plain, data(120, 0), data(40, 1), { ...q, ema_momentum: 0 }, hardLoss, 3);
    const checkpoints = new CheckpointDir(tf, mkdtempSync(join(tmpdir(), 'kd-ema-')), 'fingerprint');
    const full = poolStudent();
    const fullHistory = await trainModel(tf, full, data(120, 0), data(40, 1), q, hardLoss, 3, {
      onEpoch: async (_row, state) => {
        if (state.epoch === 1) await checkpoints.save(0, state, 0);
      },
    });
    // The same steps (the training loss of every epoch), but validated on the average, which lags the trained weights.
    expect(fullHistory.map((row) => row.loss)).toEqual(plainHistory.map((row) => row.loss));
    expect(fullHistory[0]!.val_loss).not.toBe(plainHistory[0]!.val_loss);
    expect(values(full)).not.toEqual(values(plain));

    const checkpoint = checkpoints.load(0)!;
    expect(checkpoint.state.averageWeights).toHaveLength(full.getWeights().length);
    const resumed = poolStudent();
    const resumedHistory = await trainModel(tf, resumed, data(120, 0), data(40, 1), q, hardLoss, 3, { resume: checkpoint.state });
    expect(resumedHistory).toEqual(fullHistory);
    expect(values(resumed)).toEqual(values(full));
  });

  it('a short run\'s moving average holds next to nothing of the random start (the momentum warms up with the step count)', async () => {
    const q = { ...p, patience: 8 }; // 8 epochs of 8 steps: at momentum 0.99 without a warm-up, half the average would still be the start
    const flat = (w: number[][]) => w.flat();
    const distance = (a: number[], b: number[]) => Math.hypot(...a.map((x, i) => x - b[i]!));
    const start = flat(values(poolStudent()));
    const plain = poolStudent();
    const plainHistory = await trainModel(tf, plain, data(120, 0), data(40, 1), q, hardLoss, 3);
    expect(plainHistory.at(-1)!.val_loss).toBe(Math.min(...plainHistory.map((row) => row.val_loss))); // plain keeps its last weights
    const averaged = poolStudent();
    await trainModel(tf, averaged, data(120, 0), data(40, 1), { ...q, ema_momentum: 0.99 }, hardLoss, 3);
    expect(distance(flat(values(averaged)), flat(values(plain)))).toBeLessThan(0.2 * distance(start, flat(values(plain))));
  });

  it('a penalty pulling the embedding table toward its start keeps it there', async () => {
    const drift = async (weight: number) => {
      const model = poolStudent();
      const table = model.layers.find((layer) => layer.getClassName() === 'Embedding')!.trainableWeights[0]!.read() as import('@tensorflow/tfjs').Variable;
      const start = table.clone() as import('@tensorflow/tfjs').Tensor2D;
      await trainModel(tf, model, data(120, 0), data(40, 1), p, hardLoss, 3, weight > 0 ? { penalty: pullTowardStart(tf, table, start, weight) } : {});
      return tf.tidy(() => table.sub(start).square().mean().dataSync()[0]!);
    };
    const free = await drift(0);
    expect(free).toBeGreaterThan(0);
    expect(await drift(100)).toBeLessThan(free / 10);
  });
});
