import type * as tfTypes from '@tensorflow/tfjs';
import type { Tf } from '../backend/backend.js';

/** Registered class name; it appears in the model.json of every model built with dropout. */
export const STEP_DROPOUT = 'StepDropout';

/** Layer arguments (name, trainable… as tfjs serialises them) plus the dropout rate and mask seed. */
export type StepDropoutConfig = NonNullable<ConstructorParameters<typeof tfTypes.layers.Layer>[0]> & {
  rate: number;
  seed: number;
};

/** The layer as the training loop sees it: `step` picks the mask of the next training call. */
export interface StepDropoutLayer extends tfTypes.layers.Layer {
  step: number;
}

type StepDropoutClass = new (config: StepDropoutConfig) => StepDropoutLayer;

// One class per tf namespace (pure-JS tfjs and tfjs-node each have their own layers registry).
const classes = new WeakMap<Tf, StepDropoutClass>();

/**
 * Dropout whose mask is drawn from `seed` and the current training step. tfjs's Dropout passes
 * its fixed seed to every call, so every batch of one shape gets the same mask; here the mask
 * changes with `step` (set by trainModel from epoch and batch index, so a resumed run draws the
 * same masks as an uninterrupted one) and is reproduced by the same seed and step. Each training
 * call advances `step` by one, so callers that never set it still get a new mask per call.
 * Inference (training false or absent) is the identity.
 */
export function stepDropoutClass(tf: Tf): StepDropoutClass {
  const existing = classes.get(tf);
  if (existing) return existing;
  class StepDropout extends tf.layers.Layer implements StepDropoutLayer {
    static className = STEP_DROPOUT;
    readonly rate: number;
    readonly seed: number;
    step = 0;

    constructor(config: StepDropoutConfig) {
      const { rate: _rate, seed: _seed, ...layerArgs } = config;
      super(layerArgs);
      if (!(config.rate >= 0 && config.rate < 1)) throw new Error(`${STEP_DROPOUT}: rate must be in [0, 1), got ${config.rate}`);
      this.rate = config.rate;
      this.seed = config.seed;
      this.supportsMasking = true;
    }

    override call(inputs: tfTypes.Tensor | tfTypes.Tensor[], kwargs: { training?: boolean }): tfTypes.Tensor {
      const input = Array.isArray(inputs) ? inputs[0]! : inputs;
      if (!kwargs['training'] || this.rate === 0) return input;
      const mask = `${this.seed}:${this.step}`;
      this.step++;
      return tf.dropout(input, this.rate, undefined, mask);
    }

    override getConfig(): tfTypes.serialization.ConfigDict {
      return { ...super.getConfig(), rate: this.rate, seed: this.seed };
    }
  }
  tf.serialization.registerClass(StepDropout);
  classes.set(tf, StepDropout);
  return StepDropout;
}

/** Sets the training step of every StepDropout layer of `model` (the next training call's mask). */
export function setDropoutStep(tf: Tf, model: tfTypes.LayersModel, step: number): void {
  const cls = stepDropoutClass(tf);
  for (const layer of model.layers) if (layer instanceof cls) layer.step = step;
}
