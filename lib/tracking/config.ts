import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { KdError } from '../errors.js';
import { parseYamlMemo } from '../pipeline/yaml-memo.js';
import { parseOrThrow } from '../validation.js';

/** The `tracking:` object at the top level of pipeline.yaml (the engine treats it as opaque). */
const trackingSchema = z
  .object({
    uri: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
    experiment: z.string().min(1).default('kd-pipeline'),
    registered_model: z.string().min(1).default('kd-student'),
  })
  .strict();

export interface TrackingConfig {
  /** null: no server configured — events are only journaled. */
  uri: string | null;
  experiment: string;
  registeredModel: string;
}

/** MLFLOW_TRACKING_URI wins over pipeline.yaml's tracking.uri. */
export async function loadTrackingConfig(root: string): Promise<TrackingConfig> {
  let doc: unknown = {};
  try {
    doc = parseYamlMemo(root, await readFile(join(root, 'pipeline.yaml'), 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new KdError(`pipeline.yaml: ${(error as Error).message}`);
  }
  const raw = doc && typeof doc === 'object' ? (doc as Record<string, unknown>).tracking : undefined;
  const cfg = parseOrThrow(trackingSchema, raw ?? {}, 'pipeline.yaml', ['tracking']);
  const env = process.env.MLFLOW_TRACKING_URI;
  if (env !== undefined && env !== '' && !/^https?:\/\//.test(env)) {
    throw new KdError(`MLFLOW_TRACKING_URI: expected an http(s) URL, got ${JSON.stringify(env)}`);
  }
  const uri = env || cfg.uri || null;
  return { uri: uri ? uri.replace(/\/+$/, '') : null, experiment: cfg.experiment, registeredModel: cfg.registered_model };
}
