import type * as tfTypes from '@tensorflow/tfjs';
import type { Tf } from './backend.js';
import type { TrainParams } from './params.js';

export interface HistoryRow {
  epoch: number;
  loss: number;
  accuracy: number;
  val_loss: number;
  val_accuracy: number;
  learning_rate: number;
}

export interface TrainData {
  ids: tfTypes.Tensor2D;
  /** Integer labels (accuracy, validation loss and the hard part of the loss). */
  labels: tfTypes.Tensor1D;
  /** Teacher logits for distillation; absent for hard-label training. */
  teacherLogits?: tfTypes.Tensor2D;
}

export type LossFn = (logits: tfTypes.Tensor2D, batch: TrainData) => tfTypes.Scalar;

/** Linear warm-up over the first `warmup_epochs`, then cosine decay to 0 (or constant). */
export function learningRate(p: TrainParams, epoch: number): number {
  if (epoch < p.warmup_epochs) return (p.learning_rate * (epoch + 1)) / (p.warmup_epochs + 1);
  if (p.decay === 'none') return p.learning_rate;
  const progress = (epoch - p.warmup_epochs) / Math.max(1, p.epochs - p.warmup_epochs);
  return 0.5 * p.learning_rate * (1 + Math.cos(Math.PI * progress));
}

function slice(data: TrainData, idx: tfTypes.Tensor1D): TrainData {
  return {
    ids: data.ids.gather(idx) as tfTypes.Tensor2D,
    labels: data.labels.gather(idx) as tfTypes.Tensor1D,
    ...(data.teacherLogits ? { teacherLogits: data.teacherLogits.gather(idx) as tfTypes.Tensor2D } : {}),
  };
}

function evaluate(tf: Tf, model: tfTypes.LayersModel, data: TrainData): { loss: number; accuracy: number } {
  return tf.tidy(() => {
    const logits = model.predict(data.ids) as tfTypes.Tensor2D;
    const loss = tf.losses.softmaxCrossEntropy(tf.oneHot(data.labels, logits.shape[1]), logits).dataSync()[0]!;
    const accuracy = logits.argMax(1).equal(data.labels.cast('int32')).mean().dataSync()[0]!;
    return { loss, accuracy };
  });
}

/**
 * Mini-batch Adam with a per-epoch learning-rate schedule and early stopping on validation loss;
 * the best epoch's weights are restored at the end. Shuffling uses `seed` so runs repeat exactly.
 */
export async function trainModel(
  tf: Tf,
  model: tfTypes.LayersModel,
  train: TrainData,
  val: TrainData,
  p: TrainParams,
  loss: LossFn,
  seed: number,
  onEpoch: (row: HistoryRow) => void = () => {},
): Promise<HistoryRow[]> {
  const history: HistoryRow[] = [];
  const optimizer = tf.train.adam(p.learning_rate);
  const n = train.ids.shape[0];
  let best = { loss: Infinity, weights: model.getWeights().map((w) => w.clone()) };
  let sinceBest = 0;
  for (let epoch = 0; epoch < p.epochs && sinceBest < p.patience; epoch++) {
    const lr = learningRate(p, epoch);
    (optimizer as unknown as { learningRate: number }).learningRate = lr;
    const order = tf.tidy(() => tf.randomUniform([n], 0, 1, 'float32', seed + epoch).topk(n).indices);
    let lossSum = 0;
    for (let start = 0; start < n; start += p.batch_size) {
      const idx = order.slice(start, Math.min(p.batch_size, n - start)) as tfTypes.Tensor1D;
      const batch = slice(train, idx);
      const value = optimizer.minimize(() => loss(model.apply(batch.ids, { training: true }) as tfTypes.Tensor2D, batch), true)!;
      lossSum += value.dataSync()[0]! * batch.ids.shape[0];
      tf.dispose([idx, batch.ids, batch.labels, batch.teacherLogits, value]);
      await tf.nextFrame();
    }
    order.dispose();
    const trainEval = evaluate(tf, model, train);
    const valEval = evaluate(tf, model, val);
    const row = { epoch: epoch + 1, loss: lossSum / n, accuracy: trainEval.accuracy, val_loss: valEval.loss, val_accuracy: valEval.accuracy, learning_rate: lr };
    history.push(row);
    onEpoch(row);
    if (valEval.loss < best.loss) {
      tf.dispose(best.weights);
      best = { loss: valEval.loss, weights: model.getWeights().map((w) => w.clone()) };
      sinceBest = 0;
    } else sinceBest++;
  }
  model.setWeights(best.weights);
  tf.dispose(best.weights);
  optimizer.dispose();
  return history;
}
