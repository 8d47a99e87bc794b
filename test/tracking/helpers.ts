import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { MlflowClient, type MlflowRun } from '../../lib/tracking/client.js';
import { findMlflow, startMlflowServer, type LocalMlflow } from '../../lib/tracking/local-server.js';
import type { StageEndInfo } from '../../lib/pipeline/events.js';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A real `mlflow server` (from .venv, see scripts/test-env.mjs) with SQLite + proxied artifacts in a temp dir. */
export async function startServer(): Promise<LocalMlflow & { dir: string }> {
  const bin = findMlflow(repoRoot);
  if (!bin) throw new Error('mlflow is not installed: run `node scripts/test-env.mjs`');
  const dir = mkdtempSync(join(tmpdir(), 'kd-mlflow-'));
  const server = await startMlflowServer(bin, dir);
  return { ...server, dir, stop: async () => (await server.stop(), rmSync(dir, { recursive: true, force: true })) };
}

/** One real MLflow server for the calling test file: started before its tests, stopped after. */
export function useMlflowServer(): { server: Awaited<ReturnType<typeof startServer>>; client: MlflowClient } {
  const context = {} as { server: Awaited<ReturnType<typeof startServer>>; client: MlflowClient };
  beforeAll(async () => {
    context.server = await startServer();
    context.client = new MlflowClient({ uri: context.server.uri });
  }, 120_000);
  afterAll(async () => context.server?.stop());
  return context;
}

export const tagOf = (run: MlflowRun, key: string) => run.data.tags.find((t) => t.key === key)?.value;

/** A temp project whose pipeline.yaml points tracking at `uri`. */
export function tempProject(uri: string, experiment: string): string {
  const root = mkdtempSync(join(tmpdir(), 'kd-track-'));
  writeFileSync(join(root, 'pipeline.yaml'), `tracking:\n  uri: ${uri}\n  experiment: ${experiment}\n  registered_model: ${experiment}-student\nstages: {}\n`);
  return root;
}

export function writeFile(root: string, rel: string, data: string | Buffer): void {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), data);
}

export function stageEnd(runId: string, stage: string, over: Partial<StageEndInfo> = {}): StageEndInfo {
  return { runId, stage, fingerprint: `fp-${stage}`, result: 'ran', seconds: 1.5, params: {}, metrics: [], plots: [], outs: [], tags: {}, endedAt: new Date().toISOString(), ...over };
}
