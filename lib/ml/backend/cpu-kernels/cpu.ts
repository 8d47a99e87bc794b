import type { DataType, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { Tf } from '../backend.js';

/** Storage of numeric tensors in the cpu backend (bool as Uint8Array). */
export type NumericArray = Float32Array | Int32Array | Uint8Array;

/** The part of tfjs's MathBackendCPU the fast kernels use (its type is not exported by @tensorflow/tfjs). */
export interface CpuBackend {
  data: { get(dataId: object): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: DataType, values: NumericArray): TensorInfo;
  disposeIntermediateTensorInfo(t: TensorInfo): void;
}

export type KernelArgs = Parameters<KernelFunc>[0];

/**
 * A replacement kernel: `make` receives the stock kernelFunc so that it can hand over the cases it
 * does not cover (other dtypes, layouts, attributes) and return a kernelFunc for the rest.
 */
export interface FastKernel {
  kernelName: string;
  make(stock: KernelFunc, tf: Tf): KernelFunc;
}

export function cpuBackend(args: KernelArgs): CpuBackend {
  return args.backend as unknown as CpuBackend;
}

/** The flat values of a numeric tensor, as stored by the cpu backend. */
export function values<T extends NumericArray>(backend: CpuBackend, t: TensorInfo): T {
  return backend.data.get(t.dataId).values as T;
}

/** Numeric dtypes whose values the cpu backend keeps in one typed array (not complex64 or string). */
export function isNumeric(t: TensorInfo): boolean {
  return t.dtype === 'float32' || t.dtype === 'int32' || t.dtype === 'bool';
}
