import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type * as tfTypes from '@tensorflow/tfjs';
import { KdError } from '../../errors.js';
import { writeDirAtomic } from '../../atomic-dir.js';
import { loadTf, type Tf } from '../backend/backend.js';
import { stepDropoutClass } from './step-dropout.js';
import { maskedLayerClasses } from './masked-layers.js';
import { type InputEncoder, padRows, pieceEncoder, type TokenizerJson, wordEncoder } from '../text/student-input.js';
import { TOKENIZER_CONFIG_FILE, TOKENIZER_FILE } from '../text/student-tokenizer.js';
import { isTransformerMember } from '../teacher/transformer-member-info.js';
import { transformerClassifier } from '../teacher/transformer-classifier.js';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';
/** An ensemble directory holds one layers-model directory per member, named member-<i>. */
export const MEMBER_PREFIX = 'member-';

/** One input of a classifier: the raw text (what a transformer reads) and its tokens (what a model over the vocabulary reads). */
export interface ClassifierInput {
  text: string;
  tokens: readonly string[];
}

export interface PredictOptions {
  /** false: a transformer member runs its encoder on every text, bypassing the embedding cache. */
  cached?: boolean;
  /** false: no progress line of the encoder's (the caller reports progress over many calls). */
  progress?: boolean;
}

export interface Classifier {
  /**
   * Logits [inputs, classes]. A transformer member reads texts through the embedding cache
   * unless `cached` is false (latency is timed on the model, not on the cache).
   */
  predictLogits(inputs: readonly ClassifierInput[], options?: PredictOptions): Promise<number[][]>;
  /** A transformer member's texts served from the embedding cache and encoded so far (absent for tfjs-only models). */
  readonly encodingStats?: { cached: number; encoded: number };
  paramCount: number;
  /** Bytes of the model files on disk (a transformer member's encoder files included). */
  sizeBytes: number;
  /** Set when it runs outside tfjs (an ONNX student): latency is timed there, not on each tfjs backend. */
  runtime?: string;
  dispose(): Promise<void>;
}

/** What a classifier needs besides its directory: the token vocabulary and sentence length of the tfjs models, the project for an encoder. */
export interface ClassifierContext {
  root: string;
  vocab: Readonly<Record<string, number>>;
  maxLen: number;
}

/**
 * Saves `model` in the standard tfjs layers format (model.json + weights.bin) atomically into
 * `dir`, with `files` (name → text) beside it: a student's tokenizer, so the folder is all a
 * reader needs.
 */
export async function saveLayersModel(model: tfTypes.LayersModel, dir: string, files: Readonly<Record<string, string>> = {}): Promise<void> {
  const { tf } = await loadTf();
  await writeDirAtomic(dir, async (tmp) => {
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(tmp, name), text);
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
  // Registered before a model that uses them is deserialised (teachers with dropout, students).
  stepDropoutClass(tf);
  maskedLayerClasses(tf);
  const buffer = weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength) as ArrayBuffer;
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology, weightSpecs, weightData: buffer }));
}

/** Member directories of an ensemble, in index order; [dir] for a single model. */
export function modelDirs(dir: string): string[] {
  if (existsSync(path.join(dir, MODEL_JSON)) || isTransformerMember(dir)) return [dir];
  const members = existsSync(dir)
    ? readdirSync(dir)
        .filter((name) => name.startsWith(MEMBER_PREFIX))
        .sort((a, b) => Number(a.slice(MEMBER_PREFIX.length)) - Number(b.slice(MEMBER_PREFIX.length)))
        .map((name) => path.join(dir, name))
    : [];
  if (members.length === 0) throw new KdError(`${dir}: no model.json and no ${MEMBER_PREFIX}<i>/ ensemble members`);
  return members;
}

// Rows per tfjs forward pass: bounds memory when a whole transfer set is predicted at once.
const PREDICT_CHUNK = 1024;

/** A loaded tfjs layers model over ids as a Classifier; disposing it disposes the model. */
export function modelClassifier(tf: Tf, model: tfTypes.LayersModel, sizeBytes: number, encoder: InputEncoder): Classifier {
  // Words are padded to text.max_len as every model over words was trained (a teacher CNN of another
  // length then fails, naming its shape); pieces to the chunk's longest row.
  const width = encoder.kind === 'words' ? encoder.maxLen : null;
  return {
    async predictLogits(inputs) {
      const rows: number[][] = [];
      for (let start = 0; start < inputs.length; start += PREDICT_CHUNK) {
        const chunk = inputs.slice(start, start + PREDICT_CHUNK);
        const padded = padRows(chunk.map((input) => encoder.ids(input.text, input.tokens)), width);
        const logits = tf.tidy(() => model.predict(tf.tensor2d(padded.ids, [chunk.length, padded.width], 'int32')) as tfTypes.Tensor2D);
        rows.push(...((await logits.array()) as number[][]));
        logits.dispose();
      }
      return rows;
    },
    paramCount: model.countParams(),
    sizeBytes,
    async dispose() {
      model.dispose();
    },
  };
}

/**
 * How the model in `dir` reads a text: the tokenizer.json beside its model.json (a student over
 * pieces), else the word vocabulary of `context`.
 */
export function modelInputEncoder(dir: string, context: Pick<ClassifierContext, 'vocab' | 'maxLen'>): InputEncoder {
  const file = path.join(dir, TOKENIZER_FILE);
  if (!existsSync(file)) return wordEncoder(context.vocab, null, context.maxLen);
  const read = (name: string): unknown => {
    try {
      return JSON.parse(readFileSync(path.join(dir, name), 'utf8'));
    } catch (error) {
      throw new KdError(`${path.join(dir, name)}: ${(error as Error).message}`);
    }
  };
  const config = existsSync(path.join(dir, TOKENIZER_CONFIG_FILE)) ? (read(TOKENIZER_CONFIG_FILE) as Record<string, unknown>) : {};
  try {
    return pieceEncoder(read(TOKENIZER_FILE) as TokenizerJson, config);
  } catch (error) {
    throw new KdError(`${file}: cannot be read as a tokenizer (${(error as Error).message})`);
  }
}

/** A tfjs layers model directory as a Classifier (`encoder`: how it reads a text, when not beside it). */
export async function layersClassifier(dir: string, context: Pick<ClassifierContext, 'vocab' | 'maxLen'>, encoder = modelInputEncoder(dir, context)): Promise<Classifier> {
  const { tf } = await loadTf();
  return modelClassifier(tf, await loadLayersModel(dir), dirBytes(dir), encoder);
}

/**
 * Loads a teacher (single model or ensemble with averaged logits), student or baseline directory;
 * a member may be a tfjs model over the vocabulary or a transformer member (encoder + head).
 */
export async function loadClassifier(dir: string, context: ClassifierContext): Promise<Classifier> {
  const members: Classifier[] = [];
  try {
    for (const member of modelDirs(dir)) members.push(isTransformerMember(member) ? await transformerClassifier(member, context.root) : await layersClassifier(member, context));
  } catch (error) {
    await Promise.all(members.map((m) => m.dispose()));
    throw error;
  }
  if (members.length === 1) return members[0]!;
  return {
    async predictLogits(inputs, options) {
      const all = await Promise.all(members.map((m) => m.predictLogits(inputs, options)));
      return all[0]!.map((row, i) => row.map((_, c) => all.reduce((sum, logits) => sum + logits[i]![c]!, 0) / all.length));
    },
    get encodingStats() {
      const counted = members.flatMap((m) => (m.encodingStats ? [m.encodingStats] : []));
      return counted.length === 0 ? undefined : { cached: counted.reduce((sum, s) => sum + s.cached, 0), encoded: counted.reduce((sum, s) => sum + s.encoded, 0) };
    },
    paramCount: members.reduce((sum, m) => sum + m.paramCount, 0),
    sizeBytes: members.reduce((sum, m) => sum + m.sizeBytes, 0),
    async dispose() {
      await Promise.all(members.map((m) => m.dispose()));
    },
  };
}

export function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((sum, name) => {
    const full = path.join(dir, name);
    const stat = statSync(full);
    return sum + (stat.isDirectory() ? dirBytes(full) : stat.size);
  }, 0);
}
