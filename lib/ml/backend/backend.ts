import type * as TfNamespace from '@tensorflow/tfjs';
import { KdError } from '../../errors.js';
import { registerFastCpuKernels } from './cpu-kernels/index.js';

export type Tf = typeof TfNamespace;

export interface BackendAttempt {
  package: string;
  loaded: boolean;
  error?: string;
}

export interface BackendInfo {
  /** tf.getBackend(): 'tensorflow' for the native bindings, 'cpu' for pure JS. */
  backend: string;
  /** The package whose `tf` namespace is in use. */
  package: string;
  attempts: BackendAttempt[];
  /** 'kd-fast-cpu' when lib/ml/backend/cpu-kernels replaced stock kernels of the pure-JS cpu backend. */
  kernels?: string;
}

// Native packages first: they are optional dependencies and often install without a working binary.
const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

let loaded: { tf: Tf; info: BackendInfo } | undefined;

async function importNative(name: string): Promise<Tf> {
  // TensorFlow's C++ start-up notices (oneDNN, CPU features) would open every stage's output;
  // warnings and errors still show. A user's own setting wins.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  // A variable specifier keeps tsc from requiring the (optional) package's types.
  const specifier: string = name;
  return (await import(specifier)) as Tf;
}

/** `KD_BACKEND=cpu` skips the native packages: to compare backends, or to rule the native one out. */
export const BACKEND_ENV = 'KD_BACKEND';

function backendChoice(): 'auto' | 'cpu' {
  const value = process.env[BACKEND_ENV];
  if (value === undefined || value === '' || value === 'auto') return 'auto';
  if (value === 'cpu') return 'cpu';
  throw new KdError(`${BACKEND_ENV}=${value}: expected 'auto' (the fastest backend that loads) or 'cpu' (pure JS)`);
}

/** Loads the fastest tfjs that works here (once per process) and returns its namespace and how it was chosen. */
export async function loadTf(): Promise<{ tf: Tf; info: BackendInfo }> {
  if (loaded) return loaded;
  const attempts: BackendAttempt[] = [];
  const choice = backendChoice();
  for (const name of NATIVE_PACKAGES) {
    if (choice === 'cpu') {
      attempts.push({ package: name, loaded: false, error: `skipped (${BACKEND_ENV}=cpu)` });
      continue;
    }
    try {
      const tf = await importNative(name);
      await tf.ready();
      // The pure-JS backend it also registers (evaluate times small models on it) would print the
      // same banner as below on first use.
      tf.enableProdMode();
      attempts.push({ package: name, loaded: true });
      loaded = { tf, info: { backend: tf.getBackend(), package: name, attempts } };
      return loaded;
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' ? 'not installed' : ((error as Error).message.split('\n')[0] ?? String(error));
      attempts.push({ package: name, loaded: false, error: reason });
    }
  }
  const tf = await import('@tensorflow/tfjs');
  await tf.setBackend('cpu');
  await tf.ready();
  // Production mode silences tfjs's "install our node backend" banner in every stage's output
  // (the backend choice is reported by the stages and explained by `kd-pipeline doctor`).
  tf.enableProdMode();
  registerFastCpuKernels(tf);
  attempts.push({ package: '@tensorflow/tfjs', loaded: true });
  loaded = { tf, info: { backend: tf.getBackend(), package: '@tensorflow/tfjs', attempts, kernels: 'kd-fast-cpu' } };
  return loaded;
}

/** The backend contract used by stages and `doctor`: which backend and package loaded, and why others did not. */
export async function loadBackend(): Promise<BackendInfo> {
  return (await loadTf()).info;
}
