import { MlflowClient } from './client.js';
import { loadTrackingConfig } from './config.js';

export interface TrackingProbe {
  uri: string | null;
  reachable: boolean;
  detail: string;
}

/** Resolves the tracking target and asks its /health (used by `kd-pipeline doctor`). */
export async function probeTracking(root: string): Promise<TrackingProbe> {
  let uri: string | null;
  try {
    uri = (await loadTrackingConfig(root)).uri;
  } catch (error) {
    return { uri: null, reachable: false, detail: (error as Error).message };
  }
  if (!uri) return { uri, reachable: false, detail: 'no MLflow server configured: runs are only journaled (kd-pipeline mlflow ui starts a local one)' };
  const reachable = await new MlflowClient({ uri, timeoutMs: 3000 }).health();
  return { uri, reachable, detail: reachable ? `${uri}/health answers` : `${uri} does not answer /health` };
}
