import path from 'node:path';
import type * as tfTypes from '@tensorflow/tfjs';
import { writeJsonAtomic } from '../../atomic-write.js';
import { KdError } from '../../errors.js';
import { reportStageTag } from '../../pipeline/stage-tags.js';
import { writeDirAtomic } from '../../atomic-dir.js';
import type { BackendInfo, Tf } from '../backend/backend.js';
import { CheckpointDir, trainingFingerprint } from './checkpoint.js';
import { MEMBER_PREFIX, saveLayersModel } from '../models/model-io.js';
import type { TrainParams } from '../params.js';
import { type HistoryRow, type LossFn, predictAll, scoreLogits, type TrainData, trainModel } from './train.js';

/**
 * Tests stop a stage after this many epochs (counted over all members in this process), once the
 * epoch's checkpoint is written — a reproducible stand-in for an interruption.
 */
export const STOP_AFTER_EPOCH_ENV = 'KD_STOP_AFTER_EPOCH';

// Ensemble members get seeds this far apart, so two members of one kind still differ.
const MEMBER_SEED_STRIDE = 1000;

/** One model to train: how to build it, what it reads (token ids, or a transformer's embeddings) and how to save it. */
export interface TrainableMember {
  kind: string;
  build: (seed: number) => tfTypes.LayersModel;
  train: TrainData;
  /** The validation split, in the same row order for every member (an ensemble averages their logits). */
  val: TrainData;
  /** Writes the trained model into `dir` (default: the tfjs layers files alone). */
  save?: (model: tfTypes.LayersModel, dir: string) => Promise<void>;
  /** Frozen parameters the member uses besides the trained model's (a pretrained encoder's). */
  frozenParams?: number;
  /** Its own schedule, instead of the job's (a transformer's head trains unlike a CNN). */
  trainParams?: TrainParams;
  /** A regulariser of the built model's weights, added to the loss at every step. */
  penalty?: (model: tfTypes.LayersModel) => () => tfTypes.Scalar;
}

/** A member used as it is, with nothing to train (a pretrained model with its own classification head). */
export interface PretrainedMember {
  kind: string;
  pretrained: true;
  /** Logits [val rows, classes] on the validation split. */
  valLogits: tfTypes.Tensor2D;
  params: number;
  save: (dir: string) => Promise<void>;
}

export type TrainMember = TrainableMember | PretrainedMember;

export interface TrainJob {
  /** teacher | student | baseline: names artifacts/<name>, checkpoints/<name>, metrics/<name>.json, plots/<name>-history.json. */
  name: string;
  root: string;
  /** One per model; several = an ensemble saved as member-<i>/ directories. */
  members: TrainMember[];
  /** Save the single model as `member-0/` too (the teacher), instead of at the top of its directory. */
  memberDirs: boolean;
  /** Rows of the training split (what samples_per_second counts). */
  trainRows: number;
  /** Hard labels of the validation split: the saved model (an ensemble: its averaged logits) is scored on them. */
  valLabels: number[];
  trainParams: TrainParams;
  loss: LossFn;
  seed: number;
  /** The params the stage reads and its input paths (relative to root): the checkpoint fingerprint. */
  fingerprint: { params: unknown; inputs: readonly string[] };
}

function progress(job: TrainJob, member: number, row: HistoryRow, seconds: number, trainParams: TrainParams): string {
  const who = job.members.length > 1 ? ` [${job.members[member]!.kind} ${member + 1}/${job.members.length}]` : '';
  return (
    `train-${job.name}:${who} epoch ${row.epoch}/${trainParams.epochs} loss ${row.loss.toFixed(4)} acc ${row.accuracy.toFixed(4)} ` +
    `val_loss ${row.val_loss.toFixed(4)} val_acc ${row.val_accuracy.toFixed(4)} lr ${row.learning_rate.toPrecision(3)} (${seconds.toFixed(1)} s)\n`
  );
}

function stopAfterEpoch(): number | undefined {
  const raw = process.env[STOP_AFTER_EPOCH_ENV];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new KdError(`${STOP_AFTER_EPOCH_ENV}: expected a positive integer, got "${raw}"`);
  return value;
}

/** Plot rows: the history itself, or for an ensemble one row per epoch with member_<i>_<key> columns. */
function plotRows(histories: HistoryRow[][]): Record<string, number>[] {
  if (histories.length === 1) return histories[0]!.map((row) => ({ ...row }));
  const epochs = Math.max(...histories.map((h) => h.length));
  return Array.from({ length: epochs }, (_, e) => {
    const row: Record<string, number> = { epoch: e + 1 };
    histories.forEach((history, i) => {
      const r = history[e];
      if (!r) return; // this member stopped early
      for (const [key, value] of Object.entries(r)) if (key !== 'epoch') row[`member_${i}_${key}`] = value;
    });
    return row;
  });
}

function bestEpoch(history: HistoryRow[]): HistoryRow {
  return history.reduce((best, row) => (row.val_loss < best.val_loss ? row : best));
}

/**
 * Trains every member of `job` with checkpoint/resume, then writes artifacts/<name> (atomically),
 * artifacts/metrics/<name>.json and artifacts/plots/<name>-history.json.
 */
export async function runTrainingStage(tf: Tf, backend: BackendInfo, job: TrainJob): Promise<void> {
  reportStageTag('kd.backend', backend.backend);
  const log = (line: string) => process.stderr.write(line);
  const fingerprint = trainingFingerprint(job.root, job.fingerprint.params, job.fingerprint.inputs);
  const checkpoints = new CheckpointDir(tf, path.join(job.root, 'artifacts/checkpoints', job.name), fingerprint);
  if (checkpoints.discardStale()) log(`train-${job.name}: params, data or training code changed since the last checkpoint: starting over\n`);
  const stopAfter = stopAfterEpoch();
  let epochsThisRun = 0;

  const models: (tfTypes.LayersModel | undefined)[] = [];
  const histories: HistoryRow[][] = [];
  let trainSeconds = 0;
  for (const [i, member] of job.members.entries()) {
    if ('pretrained' in member) {
      log(`train-${job.name}: ${member.kind} member ${i + 1}/${job.members.length} is used as it is (nothing to train)\n`);
      models.push(undefined);
      histories.push([]);
      continue;
    }
    const seed = job.seed + MEMBER_SEED_STRIDE * i;
    const model = member.build(seed);
    const checkpoint = checkpoints.load(i);
    if (checkpoint) log(`train-${job.name}: resuming ${member.kind} after epoch ${checkpoint.state.epoch} from ${path.relative(job.root, checkpoints.dir)}\n`);
    let seconds = checkpoint?.trainSeconds ?? 0;
    let epochStart = performance.now();
    const history = await trainModel(tf, model, member.train, member.val, member.trainParams ?? job.trainParams, job.loss, seed, {
      ...(checkpoint ? { resume: checkpoint.state } : {}),
      ...(member.penalty ? { penalty: member.penalty(model) } : {}),
      onEpoch: async (row, state) => {
        const epochSeconds = (performance.now() - epochStart) / 1000;
        seconds += epochSeconds;
        await checkpoints.save(i, state, seconds);
        log(progress(job, i, row, epochSeconds, member.trainParams ?? job.trainParams));
        epochsThisRun++;
        if (epochsThisRun === stopAfter) throw new KdError(`train-${job.name}: stopped after epoch ${row.epoch} (${STOP_AFTER_EPOCH_ENV}=${stopAfter}); rerun to resume`);
        epochStart = performance.now();
      },
    });
    if (checkpoint) tf.dispose([...checkpoint.state.weights, ...checkpoint.state.bestWeights, ...(checkpoint.state.averageWeights ?? [])]);
    models.push(model);
    histories.push(history);
    trainSeconds += seconds;
  }

  const out = path.join(job.root, 'artifacts', job.name);
  const save = (i: number, dir: string) => {
    const member = job.members[i]!;
    return 'pretrained' in member ? member.save(dir) : (member.save ?? saveLayersModel)(models[i]!, dir);
  };
  if (job.memberDirs) {
    await writeDirAtomic(out, async (tmp) => {
      for (const i of models.keys()) await save(i, path.join(tmp, `${MEMBER_PREFIX}${i}`));
    });
  } else await save(0, out);

  // The saved model scored as the later stages will use it (an ensemble averages its members' logits).
  const val = tf.tidy(() => {
    const logits = job.members.map((member, i) => ('pretrained' in member ? member.valLogits : predictAll(tf, models[i]!, member.val)));
    return scoreLogits(tf, (logits.length === 1 ? logits[0]! : tf.addN(logits).div(logits.length)) as tfTypes.Tensor2D, { labels: tf.tensor1d(job.valLabels, 'int32') });
  });
  const epochsRun = histories.reduce((sum, h) => sum + h.length, 0);
  const trainRows = job.trainRows;
  const params = job.members.reduce((sum, member, i) => sum + ('pretrained' in member ? member.params : models[i]!.countParams() + (member.frozenParams ?? 0)), 0);
  const metrics: Record<string, number> = {
    val_loss: val.loss,
    val_accuracy: val.accuracy,
    params,
    members: models.length,
    epochs_run: epochsRun,
    train_examples: trainRows,
    train_seconds: trainSeconds,
    samples_per_second: trainSeconds > 0 ? (trainRows * epochsRun) / trainSeconds : 0,
  };
  histories.forEach((history, i) => {
    if (history.length === 0) return;
    const prefix = models.length > 1 ? `member_${i}_` : '';
    const best = bestEpoch(history);
    metrics[`${prefix}best_epoch`] = best.epoch;
    metrics[`${prefix}best_val_loss`] = best.val_loss;
    metrics[`${prefix}best_val_accuracy`] = best.val_accuracy;
  });
  writeJsonAtomic(path.join(job.root, 'artifacts/metrics', `${job.name}.json`), metrics);
  writeJsonAtomic(path.join(job.root, 'artifacts/plots', `${job.name}-history.json`), plotRows(histories));
  for (const model of models) model?.dispose();
  log(`train-${job.name}: ${models.length} model(s), ${metrics.params} params, ${epochsRun} epoch(s) on ${backend.backend}, val_accuracy ${val.accuracy.toFixed(4)}\n`);
}
