import type * as Transformers from '@huggingface/transformers';

export type TransformersModule = typeof Transformers;

let loaded: Promise<TransformersModule> | undefined;

/**
 * transformers.js, imported on first use (it loads ONNX Runtime, which stages without a
 * transformer teacher never need). Remote models are off unless a caller turns them on for a
 * download: every encoder is read from its local folder.
 */
export function loadTransformers(): Promise<TransformersModule> {
  loaded ??= import('@huggingface/transformers').then((module) => {
    module.env.allowRemoteModels = false;
    module.env.allowLocalModels = true;
    return module;
  });
  return loaded;
}
