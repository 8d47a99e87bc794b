import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { KdError } from '../../errors.js';
import { parseOrThrow } from '../../validation.js';
import type * as tfTypes from '@tensorflow/tfjs';
import { loadTf } from '../backend/backend.js';
import { layersModelFromMemory, modelClassifier, MODEL_JSON, type Classifier } from './model-io.js';
import type { InputEncoder } from '../text/student-input.js';
import { quantizeWeights, type QuantizeDtype, type WeightSpec } from '../export/quantize.js';

/** The single weight file of an exported model. A bare name: the export reader refuses `./` or `../` paths. */
export const EXPORT_WEIGHTS = 'weights.bin';

const weightSpecSchema = z.object({
  name: z.string().min(1),
  shape: z.array(z.number().int().nonnegative()),
  dtype: z.string(),
  quantization: z.unknown().optional(),
});

const modelJsonSchema = z.looseObject({
  modelTopology: z.record(z.string(), z.unknown()),
  format: z.string().optional(),
  generatedBy: z.string().nullable().optional(),
  convertedBy: z.string().nullable().optional(),
  weightsManifest: z.array(z.object({ paths: z.array(z.string().min(1)).min(1), weights: z.array(weightSpecSchema) })).min(1),
});

/** A layers model as files: model.json text and the bytes of its one weight file. */
export interface LayersFiles {
  modelJson: string;
  weights: Uint8Array;
}

/** A trained float32 layers model read from disk: topology, weight specs in manifest order and all weight bytes. */
export interface FloatModel {
  json: z.infer<typeof modelJsonSchema>;
  specs: WeightSpec[];
  weights: Buffer;
}

/** Reads a tfjs layers model directory (model.json + the weight files its manifest names); float32 weights only. */
export function readFloatModel(dir: string): FloatModel {
  const file = path.join(dir, MODEL_JSON);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new KdError(`${file}: ${code === 'ENOENT' ? 'missing (a single layers model is expected here)' : (error as Error).message}`);
  }
  const json = parseOrThrow(modelJsonSchema, raw, file);
  const entries = json.weightsManifest.flatMap((group) => group.weights);
  const odd = entries.find((spec) => spec.dtype !== 'float32' || spec.quantization !== undefined);
  if (odd) throw new KdError(`${file}: weight ${odd.name} is not plain float32; export needs the trained float32 model`);
  const specs = entries.map(({ name, shape, dtype }) => ({ name, shape, dtype }));
  const weights = Buffer.concat(json.weightsManifest.flatMap((group) => group.paths.map((p) => readFileSync(path.join(dir, p)))));
  const expected = specs.reduce((sum, spec) => sum + spec.shape.reduce((a, b) => a * b, 1), 0) * 4;
  if (weights.length !== expected) throw new KdError(`${file}: weight files hold ${weights.length} bytes, the manifest describes ${expected}`);
  return { json, specs, weights };
}

/** The model as export files: float32 as trained, or quantised (tfjs dequantises on load). */
export function layersFiles(model: FloatModel, dtype: 'float32' | QuantizeDtype): LayersFiles {
  let specs = model.specs;
  let weights: Uint8Array = model.weights;
  if (dtype !== 'float32') {
    // Copied so the Float32Array view starts 4-byte aligned, whatever Buffer pool offset it had.
    const floats = new Float32Array(Uint8Array.from(model.weights).buffer);
    ({ specs, data: weights } = quantizeWeights(model.specs, floats, dtype));
  }
  const { weightsManifest: _, ...rest } = model.json;
  const modelJson = JSON.stringify({ ...rest, weightsManifest: [{ paths: [EXPORT_WEIGHTS], weights: specs }] });
  return { modelJson, weights };
}

/** Bytes of model.json and the weight file as written. */
export const layersFilesBytes = (files: LayersFiles) => Buffer.byteLength(files.modelJson) + files.weights.byteLength;

/** Writes model.json and the weight file into `dir` (which exists); returns their bytes on disk. */
export function writeLayersFiles(dir: string, files: LayersFiles): number {
  writeFileSync(path.join(dir, MODEL_JSON), files.modelJson);
  writeFileSync(path.join(dir, EXPORT_WEIGHTS), files.weights);
  return layersFilesBytes(files);
}

/**
 * Export files loaded in memory as tfjs loads them from disk (quantised weights dequantised on
 * load): how the evaluate stage scores and times the export's variants before they are written.
 */
export async function classifierFromFiles(files: LayersFiles, encoder: InputEncoder): Promise<Classifier> {
  const { tf } = await loadTf();
  const json = JSON.parse(files.modelJson) as FloatModel['json'];
  const specs = json.weightsManifest.flatMap((group) => group.weights) as tfTypes.io.WeightsManifestEntry[];
  return modelClassifier(tf, await layersModelFromMemory(json.modelTopology, specs, files.weights), layersFilesBytes(files), encoder);
}
