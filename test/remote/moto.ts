import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort } from '../../lib/tracking/local-server.js';
import { repoRoot } from '../tracking/helpers.js';

export interface MotoServer {
  endpoint: string;
  /** The environment a CLI needs to reach it: fake credentials, the endpoint, nothing from ~/.aws, no instance metadata. */
  env: Record<string, string>;
  client: S3Client;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** Credentials and config from nowhere but `env`: the tests never read ~/.aws nor ask an instance-metadata service. */
export function isolatedAwsEnv(env: Record<string, string>): Record<string, string> {
  return { AWS_CONFIG_FILE: '/nonexistent/aws-config', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials', AWS_EC2_METADATA_DISABLED: 'true', AWS_REGION: 'us-east-1', ...env };
}

/**
 * moto's standalone S3 server (from .venv, installed by scripts/test-env.mjs) on 127.0.0.1 and a
 * free port, as DVC's own S3 tests use it. `auth`: it checks credentials (unknown keys are refused).
 */
export async function startMoto(options: { auth?: boolean } = {}): Promise<MotoServer> {
  const bin = join(repoRoot, '.venv', 'bin', 'moto_server');
  if (!existsSync(bin)) throw new Error('moto_server is not installed: run `node scripts/test-env.mjs`');
  const port = await freePort();
  const child = spawn(bin, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...(options.auth ? { INITIAL_NO_AUTH_ACTION_COUNT: '0' } : {}) },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => void (stderr = (stderr + d.toString()).slice(-4000)));
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const up = await fetch(`${endpoint}/moto-api/`).then(() => true, () => false);
    if (up) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`moto_server did not start on ${endpoint}:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const env = isolatedAwsEnv({ AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_ENDPOINT_URL: endpoint });
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  return {
    endpoint,
    env,
    client,
    createBucket: async (name) => void (await client.send(new CreateBucketCommand({ Bucket: name }))),
    stop: async () => {
      client.destroy();
      if (child.exitCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    },
  };
}
