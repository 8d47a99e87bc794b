import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import objectHash from 'object-hash';
import { z } from 'zod';
import { parseOrThrow } from '../../validation.js';
import { writeDirAtomic } from '../../atomic-dir.js';
import type { Tf } from '../backend/backend.js';
import { MEMBER_PREFIX } from '../models/model-io.js';
import type { TrainState } from './train.js';

const STATE_JSON = 'state.json';
const TENSORS_BIN = 'tensors.bin';
// member-<i> exactly: writeDirAtomic's member-<i>.tmp-… / .old-… siblings are leftovers.
const MEMBER_DIR = new RegExp(`^${MEMBER_PREFIX}\\d+$`);

const historyRowSchema = z.strictObject({
  epoch: z.number(),
  loss: z.number(),
  accuracy: z.number(),
  val_loss: z.number(),
  val_accuracy: z.number(),
  learning_rate: z.number(),
});

const stateSchema = z.strictObject({
  fingerprint: z.string(),
  epoch: z.number().int().nonnegative(),
  history: z.array(historyRowSchema),
  since_best: z.number().int().nonnegative(),
  // JSON has no Infinity: null stands for "no best yet".
  best_loss: z.number().nullable(),
  acc_beta: z.tuple([z.number(), z.number()]),
  optimizer_names: z.array(z.string()),
  train_seconds: z.number().nonnegative(),
  weight_count: z.number().int().nonnegative(),
  // Weights of the moving average (ema_momentum); 0 without one.
  average_count: z.number().int().nonnegative(),
  specs: z.array(z.strictObject({ name: z.string(), shape: z.array(z.number().int()), dtype: z.enum(['float32', 'int32', 'bool']) })),
});

/** What a checkpoint restores: the training state plus the wall time spent so far. */
export interface Checkpoint {
  state: TrainState;
  trainSeconds: number;
}

function filesUnder(file: string): string[] {
  if (!statSync(file).isDirectory()) return [file];
  return readdirSync(file)
    .sort()
    .flatMap((name) => filesUnder(path.join(file, name)));
}

function sha256Of(files: readonly string[], relativeTo: string): Record<string, string> {
  return Object.fromEntries(files.map((file) => [path.relative(relativeTo, file), createHash('sha256').update(readFileSync(file)).digest('hex')]));
}

// The compiled ML code of this installation (lib/ml, two folders above this module).
const ML_CODE_DIR = path.resolve(import.meta.dirname, '..');
let mlCode: string | undefined;

/**
 * The installation's ML code as one hash: a checkpoint written by other training code (another
 * version, or a local change) would resume into a model that code never trains, so it is
 * discarded like one written under other params.
 */
export function mlCodeIdentity(): string {
  mlCode ??= objectHash(sha256Of(filesUnder(ML_CODE_DIR).filter((file) => /\.[cm]?js$/.test(file)), ML_CODE_DIR), { algorithm: 'sha256' });
  return mlCode;
}

/**
 * Identity of a training run: the params it used, the content of its inputs and the code that
 * trains. A checkpoint is only resumed under the same fingerprint. object-hash sorts keys, so
 * reordering params.yaml does not count as a change.
 */
export function trainingFingerprint(root: string, params: unknown, inputs: readonly string[], code = mlCodeIdentity()): string {
  const contents = sha256Of(inputs.flatMap((input) => filesUnder(path.join(root, input))), root);
  return objectHash({ params, contents, code }, { algorithm: 'sha256' });
}

/**
 * Per-epoch checkpoints of one training stage under `dir` (artifacts/checkpoints/<name>): one
 * `member-<i>/` per model trained (ensemble members in order), each holding `state.json` (epoch,
 * history, early-stopping counter, fingerprint) and `tensors.bin` (weights, best weights, Adam
 * state and any moving average of the weights, in the tfjs weight encoding). Each member directory is replaced atomically.
 */
export class CheckpointDir {
  constructor(
    private readonly tf: Tf,
    readonly dir: string,
    private readonly fingerprint: string,
  ) {}

  /**
   * Deletes every checkpoint if any was written under another fingerprint or cannot be read (true
   * if so), and the leftovers of a write that was interrupted.
   */
  discardStale(): boolean {
    if (!existsSync(this.dir)) return false;
    const entries = readdirSync(this.dir);
    for (const name of entries.filter((entry) => !MEMBER_DIR.test(entry))) rmSync(path.join(this.dir, name), { recursive: true, force: true });
    const stale = entries.filter((entry) => MEMBER_DIR.test(entry)).some((name) => this.readState(name)?.fingerprint !== this.fingerprint);
    if (stale) rmSync(this.dir, { recursive: true, force: true });
    return stale;
  }

  private readState(member: string): z.infer<typeof stateSchema> | undefined {
    const file = path.join(this.dir, member, STATE_JSON);
    try {
      return parseOrThrow(stateSchema, JSON.parse(readFileSync(file, 'utf8')), file);
    } catch {
      return undefined; // unreadable = not resumable; discardStale removes it
    }
  }

  async save(member: number, state: TrainState, trainSeconds: number): Promise<void> {
    const named = [
      ...state.weights.map((tensor, i) => ({ name: `weights/${i}`, tensor })),
      ...state.bestWeights.map((tensor, i) => ({ name: `best/${i}`, tensor })),
      ...state.optimizer.map(({ tensor }, i) => ({ name: `optimizer/${i}`, tensor })),
      ...(state.averageWeights ?? []).map((tensor, i) => ({ name: `average/${i}`, tensor })),
    ];
    const { data, specs } = await this.tf.io.encodeWeights(named);
    const json: z.infer<typeof stateSchema> = {
      fingerprint: this.fingerprint,
      epoch: state.epoch,
      history: state.history,
      since_best: state.sinceBest,
      best_loss: Number.isFinite(state.bestLoss) ? state.bestLoss : null,
      acc_beta: state.accBeta,
      optimizer_names: state.optimizer.map(({ name }) => name),
      train_seconds: trainSeconds,
      weight_count: state.weights.length,
      average_count: state.averageWeights?.length ?? 0,
      specs: specs.map(({ name, shape, dtype }) => ({ name, shape, dtype: dtype as 'float32' | 'int32' | 'bool' })),
    };
    await writeDirAtomic(path.join(this.dir, `${MEMBER_PREFIX}${member}`), (tmp) => {
      writeFileSync(path.join(tmp, TENSORS_BIN), Buffer.from(data));
      writeFileSync(path.join(tmp, STATE_JSON), `${JSON.stringify(json)}\n`);
    });
  }

  /** The checkpoint of member `member`, or undefined if there is none to resume. */
  load(member: number): Checkpoint | undefined {
    const name = `${MEMBER_PREFIX}${member}`;
    const json = this.readState(name);
    if (!json || json.fingerprint !== this.fingerprint) return undefined;
    const bytes = readFileSync(path.join(this.dir, name, TENSORS_BIN));
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const tensors = this.tf.io.decodeWeights(buffer, json.specs);
    const group = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => tensors[`${prefix}/${i}`]!);
    const optimizer = group('optimizer', json.optimizer_names.length).map((tensor, i) => ({ name: json.optimizer_names[i]!, tensor }));
    return {
      state: {
        epoch: json.epoch,
        history: json.history,
        sinceBest: json.since_best,
        bestLoss: json.best_loss ?? Infinity,
        weights: group('weights', json.weight_count),
        bestWeights: group('best', json.weight_count),
        ...(json.average_count > 0 ? { averageWeights: group('average', json.average_count) } : {}),
        optimizer,
        accBeta: json.acc_beta,
      },
      trainSeconds: json.train_seconds,
    };
  }
}
