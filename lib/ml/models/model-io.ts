import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type * as tfTypes from '@tensorflow/tfjs';
import { KdError } from '../../errors.js';
import { writeDirAtomic } from '../../atomic-dir.js';
import { loadTf } from '../backend/backend.js';
import { stepDropoutClass } from './step-dropout.js';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';
/** An ensemble directory holds one layers-model directory per member, named member-<i>. */
export const MEMBER_PREFIX = 'member-';

export interface Classifier {
  /** Logits [batch, classes] for token ids [batch, maxLen]; the caller disposes the result. */
  predictLogits(ids: tfTypes.Tensor2D): tfTypes.Tensor2D;
  paramCount: number;
  /** Bytes of the model files on disk. */
  sizeBytes: number;
  dispose(): void;
}

/** Saves `model` in the standard tfjs layers format (model.json + weights.bin) atomically into `dir`. */
export async function saveLayersModel(model: tfTypes.LayersModel, dir: string): Promise<void> {
  const { tf } = await loadTf();
  await writeDirAtomic(dir, async (tmp) => {
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        const weightsManifest = [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }];
        const modelJson = {
          modelTopology: artifacts.modelTopology,
          format: artifacts.format ?? 'layers-model',
          generatedBy: artifacts.generatedBy,
          convertedBy: artifacts.convertedBy ?? null,
          weightsManifest,
        };
        writeFileSync(path.join(tmp, MODEL_JSON), JSON.stringify(modelJson));
        const data = artifacts.weightData;
        const buffers = data === undefined ? [] : Array.isArray(data) ? data : [data];
        writeFileSync(path.join(tmp, WEIGHTS_BIN), Buffer.concat(buffers.map((b) => Buffer.from(b))));
        return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
      }),
    );
  });
}

function readModelJson(dir: string): { modelTopology: object; weightsManifest: { paths: string[]; weights: tfTypes.io.WeightsManifestEntry[] }[] } {
  const file = path.join(dir, MODEL_JSON);
  if (!existsSync(file)) throw new KdError(`${file}: no tfjs model here (model.json missing)`);
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new KdError(`${file}: not valid JSON (${(error as Error).message})`);
  }
}

/** Loads a layers model saved by saveLayersModel (or any tfjs layers model.json + weight files) from `dir`. */
export async function loadLayersModel(dir: string): Promise<tfTypes.LayersModel> {
  const json = readModelJson(dir);
  const weightData = Buffer.concat(
    json.weightsManifest.flatMap((group) => group.paths.map((p) => readFileSync(path.join(dir, p)))),
  );
  return layersModelFromMemory(json.modelTopology, json.weightsManifest.flatMap((group) => group.weights), weightData);
}

/** A layers model from its topology, weight specs and weight bytes; quantised weights (a `quantization` in their spec) are dequantised by tfjs. */
export async function layersModelFromMemory(
  modelTopology: object,
  weightSpecs: tfTypes.io.WeightsManifestEntry[],
  weightData: Uint8Array,
): Promise<tfTypes.LayersModel> {
  const { tf } = await loadTf();
  stepDropoutClass(tf); // registered before a model that uses it (every teacher with dropout) is deserialised
  const buffer = weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength) as ArrayBuffer;
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology, weightSpecs, weightData: buffer }));
}

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((sum, name) => {
    const full = path.join(dir, name);
    const stat = statSync(full);
    return sum + (stat.isDirectory() ? dirBytes(full) : stat.size);
  }, 0);
}

/** Member directories of an ensemble, in index order; [dir] for a single model. */
export function modelDirs(dir: string): string[] {
  if (existsSync(path.join(dir, MODEL_JSON))) return [dir];
  const members = existsSync(dir)
    ? readdirSync(dir)
        .filter((name) => name.startsWith(MEMBER_PREFIX))
        .sort((a, b) => Number(a.slice(MEMBER_PREFIX.length)) - Number(b.slice(MEMBER_PREFIX.length)))
        .map((name) => path.join(dir, name))
    : [];
  if (members.length === 0) throw new KdError(`${dir}: no model.json and no ${MEMBER_PREFIX}<i>/ ensemble members`);
  return members;
}

/** Loads a teacher (single model or ensemble with averaged logits), student or baseline directory. */
export async function loadClassifier(dir: string): Promise<Classifier> {
  const { tf } = await loadTf();
  const models = await Promise.all(modelDirs(dir).map((d) => loadLayersModel(d)));
  return {
    predictLogits(ids) {
      return tf.tidy(() => {
        const logits = models.map((m) => m.predict(ids) as tfTypes.Tensor2D);
        return logits.length === 1 ? logits[0]! : (tf.addN(logits).div(logits.length) as tfTypes.Tensor2D);
      });
    },
    paramCount: models.reduce((sum, m) => sum + m.countParams(), 0),
    sizeBytes: dirBytes(dir),
    dispose() {
      for (const m of models) m.dispose();
    },
  };
}
