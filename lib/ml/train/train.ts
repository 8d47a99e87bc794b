import type * as tfTypes from '@tensorflow/tfjs';
import type { Tf } from '../backend/backend.js';
import type { TrainParams } from '../params.js';
import { setDropoutStep } from '../models/step-dropout.js';
import { seededRandom, shuffle } from '../../seeded-random.js';

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
  /** 1 where `labels` holds a real hard label, 0 for teacher-only (augmented) rows; absent = all real. */
  labelled?: tfTypes.Tensor1D;
  /** Real ids per row, for a model of any input length: each batch is cut to its longest row. */
  lengths?: Int32Array;
}

/** Everything needed to continue training after a completed epoch exactly as if never stopped. */
export interface TrainState {
  /** Completed epochs. */
  epoch: number;
  history: HistoryRow[];
  /** Epochs since the best validation loss (the early-stopping counter). */
  sinceBest: number;
  bestLoss: number;
  weights: tfTypes.Tensor[];
  bestWeights: tfTypes.Tensor[];
  /** The moving average of the weights (with `ema_momentum`); absent without one. */
  averageWeights?: tfTypes.Tensor[];
  /** Adam's getWeights(): iteration count, first and second moments. */
  optimizer: { name: string; tensor: tfTypes.Tensor }[];
  /** Adam's β₁ᵗ and β₂ᵗ accumulators (see restoreOptimizer). */
  accBeta: [number, number];
}

export interface TrainHooks {
  /** Continue from this state (a checkpoint) instead of epoch 0. */
  resume?: TrainState;
  /** Called after every epoch with the row and the state to checkpoint (tensors are only valid during the call). */
  onEpoch?: (row: HistoryRow, state: TrainState) => void | Promise<void>;
  /** A term added to the loss at every step (a regulariser on the weights). */
  penalty?: () => tfTypes.Scalar;
}

export type LossFn = (logits: tfTypes.Tensor2D, batch: TrainData) => tfTypes.Scalar;

/** Linear warm-up over the first `warmup_epochs`, then cosine decay to 0 (or constant). */
export function learningRate(p: TrainParams, epoch: number): number {
  if (epoch < p.warmup_epochs) return (p.learning_rate * (epoch + 1)) / (p.warmup_epochs + 1);
  if (p.decay === 'none') return p.learning_rate;
  const progress = (epoch - p.warmup_epochs) / Math.max(1, p.epochs - p.warmup_epochs);
  return 0.5 * p.learning_rate * (1 + Math.cos(Math.PI * progress));
}

/** The longest real row among `rows` (the full width when the data has no lengths). */
function widthOf(data: TrainData, rows: ArrayLike<number>): number {
  if (!data.lengths) return data.ids.shape[1];
  let width = 1;
  for (let i = 0; i < rows.length; i++) width = Math.max(width, data.lengths[rows[i]!]!);
  return width;
}

function slice(tf: Tf, data: TrainData, idx: tfTypes.Tensor1D): TrainData {
  const width = widthOf(data, idx.dataSync());
  return {
    ids: width === data.ids.shape[1] ? (data.ids.gather(idx) as tfTypes.Tensor2D) : tf.tidy(() => data.ids.gather(idx).slice([0, 0], [-1, width]) as tfTypes.Tensor2D),
    labels: data.labels.gather(idx) as tfTypes.Tensor1D,
    ...(data.teacherLogits ? { teacherLogits: data.teacherLogits.gather(idx) as tfTypes.Tensor2D } : {}),
    ...(data.labelled ? { labelled: data.labelled.gather(idx) as tfTypes.Tensor1D } : {}),
  };
}

/** Cross-entropy and accuracy of `logits` over the rows of `data` with a real hard label. */
export function scoreLogits(tf: Tf, logits: tfTypes.Tensor2D, data: Pick<TrainData, 'labels' | 'labelled'>): { loss: number; accuracy: number } {
  return tf.tidy(() => {
    const weights = data.labelled ?? tf.onesLike(data.labels).cast('float32');
    const count = weights.sum();
    const ce = tf.losses.softmaxCrossEntropy(tf.oneHot(data.labels, logits.shape[1]), logits, undefined, undefined, tf.Reduction.NONE);
    const loss = ce.mul(weights).sum().div(count).dataSync()[0]!;
    const accuracy = logits.argMax(1).equal(data.labels.cast('int32')).cast('float32').mul(weights).sum().div(count).dataSync()[0]!;
    return { loss, accuracy };
  });
}

// Rows per forward pass when a whole split is scored: bounds memory on a large transfer set.
const EVAL_CHUNK = 2048;

/**
 * Logits of every row of `data`. With lengths, rows are scored in chunks of similar length, each
 * cut to its longest row, and put back in order: a long-tailed set costs what its short rows cost.
 */
export function predictAll(tf: Tf, model: tfTypes.LayersModel, data: TrainData): tfTypes.Tensor2D {
  if (!data.lengths) return model.predict(data.ids) as tfTypes.Tensor2D;
  const lengths = data.lengths;
  const order = Int32Array.from(lengths.keys()).sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  const parts: tfTypes.Tensor2D[] = [];
  for (let start = 0; start < order.length; start += EVAL_CHUNK) {
    const rows = order.subarray(start, start + EVAL_CHUNK);
    parts.push(
      tf.tidy(() => {
        const ids = data.ids.gather(tf.tensor1d(rows, 'int32')).slice([0, 0], [-1, widthOf(data, rows)]);
        return model.predict(ids) as tfTypes.Tensor2D;
      }),
    );
  }
  const inverse = new Int32Array(order.length);
  order.forEach((row, position) => (inverse[row] = position));
  const logits = tf.tidy(() => tf.concat(parts).gather(tf.tensor1d(inverse, 'int32')) as tfTypes.Tensor2D);
  tf.dispose(parts);
  return logits;
}

function evaluate(tf: Tf, model: tfTypes.LayersModel, data: TrainData): { loss: number; accuracy: number } {
  return tf.tidy(() => scoreLogits(tf, predictAll(tf, model, data), data));
}

// Training accuracy per epoch is read on at most this many rows with a hard label, evenly spread:
// scoring a whole transfer set (tens of thousands of rows, most without a label) every epoch
// would cost a third of the epoch again, for rows the accuracy does not count.
const TRAIN_EVAL_ROWS = 4096;

/** The labelled rows of `data` (every k-th of them beyond TRAIN_EVAL_ROWS); `data` itself when that is all of it. */
function trainEvalSample(tf: Tf, data: TrainData): TrainData {
  const labelled = data.labelled?.dataSync();
  const candidates = labelled ? Int32Array.from(labelled.keys()).filter((row) => labelled[row] === 1) : Int32Array.from(data.labels.dataSync().keys());
  if (candidates.length === data.ids.shape[0] && candidates.length <= TRAIN_EVAL_ROWS) return data;
  const count = Math.min(candidates.length, TRAIN_EVAL_ROWS);
  const rows = Int32Array.from({ length: count }, (_, i) => candidates[Math.floor((i * candidates.length) / count)]!);
  const idx = tf.tensor1d(rows, 'int32');
  const sample = slice(tf, { ...data, lengths: undefined }, idx);
  idx.dispose();
  return { ...sample, ...(data.lengths ? { lengths: Int32Array.from(rows, (row) => data.lengths![row]!) } : {}) };
}

// tfjs Adam's setWeights recomputes βᵗ as pow(β, t+1), which can differ in the last bit from the
// running product a never-stopped run holds; restoring the saved products keeps a resumed run exact.
interface AdamAccumulators {
  accBeta1: tfTypes.Variable;
  accBeta2: tfTypes.Variable;
}

async function restoreOptimizer(tf: Tf, optimizer: tfTypes.Optimizer, state: TrainState): Promise<void> {
  await optimizer.setWeights(state.optimizer);
  const acc = optimizer as unknown as AdamAccumulators;
  tf.tidy(() => {
    acc.accBeta1.assign(tf.scalar(state.accBeta[0]));
    acc.accBeta2.assign(tf.scalar(state.accBeta[1]));
  });
}

// Rows of this many batches are sorted by length together before they are cut into batches.
const BUCKET_BATCHES = 32;

/**
 * The epoch's batches from its shuffled `order`. Without lengths, consecutive runs of `size`
 * rows. With lengths (a model over ids of any length), each run of BUCKET_BATCHES batches is
 * sorted by length before it is cut, so a batch's rows are of similar length and it is cut to
 * little padding; the batches of a run are then shuffled, so the epoch stays random, and it
 * repeats exactly for a seed (a resumed run draws the same batches).
 */
function epochBatches(order: Int32Array, size: number, lengths?: Int32Array): Int32Array[] {
  const batches: Int32Array[] = [];
  if (!lengths) {
    for (let start = 0; start < order.length; start += size) batches.push(order.slice(start, start + size));
    return batches;
  }
  const run = size * BUCKET_BATCHES;
  for (let start = 0; start < order.length; start += run) {
    const chunk = order.slice(start, start + run).sort((a, b) => lengths[a]! - lengths[b]! || a - b);
    const cut: Int32Array[] = [];
    for (let at = 0; at < chunk.length; at += size) cut.push(chunk.slice(at, at + size));
    // Seeded by the run's first row (itself drawn by the epoch's shuffle): random, not by length, repeatable.
    batches.push(...shuffle(cut, seededRandom(chunk.length > 0 ? order[start]! : 0)));
  }
  return batches;
}

/**
 * The exponential moving average of a model's weights (Polyak averaging, Keras' `use_ema`):
 * updated after every step; `swapIn` runs a function with the average in the model's place. The
 * momentum at global step t is min(momentum, (1 + t) / (10 + t)), as TensorFlow's
 * ExponentialMovingAverage with num_updates: a short run (a baseline's few hundred steps) does
 * not keep a share of its random start in the average.
 */
class WeightAverage {
  private readonly average: tfTypes.Variable[];

  constructor(
    private readonly tf: Tf,
    private readonly model: tfTypes.LayersModel,
    private readonly momentum: number,
    start: tfTypes.Tensor[] = model.getWeights(),
  ) {
    this.average = start.map((w) => tf.variable(w, false));
  }

  update(step: number): void {
    const m = Math.min(this.momentum, (1 + step) / (10 + step));
    this.tf.tidy(() => this.model.weights.forEach((w, i) => this.average[i]!.assign(this.average[i]!.mul(m).add(w.read().mul(1 - m)))));
  }

  swapIn<T>(f: () => T): T {
    const trained = this.model.getWeights().map((w) => w.clone());
    this.model.setWeights(this.average);
    try {
      return f();
    } finally {
      this.model.setWeights(trained);
      this.tf.dispose(trained);
    }
  }

  values(): tfTypes.Tensor[] {
    return this.average;
  }

  dispose(): void {
    this.tf.dispose(this.average);
  }
}

/**
 * Mini-batch Adam with a per-epoch learning-rate schedule and early stopping on validation loss;
 * the best epoch's weights are restored at the end. Shuffling uses `seed` + epoch, so runs repeat
 * exactly and a run resumed from `hooks.resume` continues the same sequence; dropout masks follow the
 * global batch step (epoch × batches per epoch + batch index) for the same reason. With
 * `ema_momentum`, the moving average of the weights is what each epoch validates, what early
 * stopping keeps and what the model holds at the end.
 */
export async function trainModel(
  tf: Tf,
  model: tfTypes.LayersModel,
  train: TrainData,
  val: TrainData,
  p: TrainParams,
  loss: LossFn,
  seed: number,
  hooks: TrainHooks = {},
): Promise<HistoryRow[]> {
  const { resume, onEpoch } = hooks;
  const history: HistoryRow[] = resume ? [...resume.history] : [];
  const optimizer = tf.train.adam(p.learning_rate);
  const n = train.ids.shape[0];
  let best = { loss: Infinity, weights: model.getWeights().map((w) => w.clone()) };
  let sinceBest = 0;
  if (resume) {
    model.setWeights(resume.weights);
    await restoreOptimizer(tf, optimizer, resume);
    tf.dispose(best.weights);
    best = { loss: resume.bestLoss, weights: resume.bestWeights.map((w) => w.clone()) };
    sinceBest = resume.sinceBest;
  }
  const trainSample = trainEvalSample(tf, train);
  const average = p.ema_momentum > 0 ? new WeightAverage(tf, model, p.ema_momentum, resume?.averageWeights) : undefined;
  for (let epoch = resume?.epoch ?? 0; epoch < p.epochs && sinceBest < p.patience; epoch++) {
    const lr = learningRate(p, epoch);
    (optimizer as unknown as { learningRate: number }).learningRate = lr;
    const order = tf.tidy(() => tf.randomUniform([n], 0, 1, 'float32', seed + epoch).topk(n).indices);
    const rows = epochBatches(order.dataSync() as Int32Array, p.batch_size, train.lengths);
    order.dispose();
    let lossSum = 0;
    for (const [b, batchRows] of rows.entries()) {
      // The dropout masks follow the global step, so a run resumed at an epoch boundary draws the same masks.
      setDropoutStep(tf, model, epoch * rows.length + b);
      const idx = tf.tensor1d(batchRows, 'int32');
      const batch = slice(tf, train, idx);
      const value = optimizer.minimize(() => {
        const batchLoss = loss(model.apply(batch.ids, { training: true }) as tfTypes.Tensor2D, batch);
        return hooks.penalty ? (batchLoss.add(hooks.penalty()) as tfTypes.Scalar) : batchLoss;
      }, true)!;
      average?.update(epoch * rows.length + b);
      lossSum += value.dataSync()[0]! * batch.ids.shape[0];
      tf.dispose([idx, batch.ids, batch.labels, batch.teacherLogits, batch.labelled, value]);
      await tf.nextFrame();
    }
    // One swap for both scores: with an average, it is what the epoch validates.
    const scores = () => ({ trainEval: evaluate(tf, model, trainSample), valEval: evaluate(tf, model, val) });
    const { trainEval, valEval } = average ? average.swapIn(scores) : scores();
    const row = { epoch: epoch + 1, loss: lossSum / n, accuracy: trainEval.accuracy, val_loss: valEval.loss, val_accuracy: valEval.accuracy, learning_rate: lr };
    history.push(row);
    if (valEval.loss < best.loss) {
      tf.dispose(best.weights);
      best = { loss: valEval.loss, weights: (average ? average.values() : model.getWeights()).map((w) => w.clone()) };
      sinceBest = 0;
    } else sinceBest++;
    if (onEpoch) {
      const acc = optimizer as unknown as AdamAccumulators;
      const optimizerWeights = await optimizer.getWeights();
      await onEpoch(row, {
        epoch: epoch + 1,
        history: [...history],
        sinceBest,
        bestLoss: best.loss,
        weights: model.getWeights(),
        bestWeights: best.weights,
        optimizer: optimizerWeights,
        ...(average ? { averageWeights: average.values() } : {}),
        accBeta: [acc.accBeta1.dataSync()[0]!, acc.accBeta2.dataSync()[0]!],
      });
      optimizerWeights[0]!.tensor.dispose(); // the iteration count is a fresh scalar; the moments are live variables
    }
  }
  model.setWeights(best.weights);
  tf.dispose(best.weights);
  average?.dispose();
  if (trainSample !== train) tf.dispose([trainSample.ids, trainSample.labels, trainSample.teacherLogits, trainSample.labelled]);
  optimizer.dispose();
  return history;
}
