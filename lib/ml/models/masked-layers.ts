import type * as tfTypes from '@tensorflow/tfjs';
import type { Tf } from '../backend/backend.js';

/**
 * Two small layers that let a student read padded batches of any length and give the same answer
 * for a text whatever its batch's padding: positions whose input id is the pad id (0) are zeroed
 * before the convolutions (so they look like the convolution's own zero padding), and pooling
 * averages and maxes over the real positions only. tfjs's masking does not reach Conv1D or the
 * global poolings, hence layers of our own. Stays free of Node imports: the browser page registers
 * them too. Class names appear in every such student's model.json.
 */
export const ZERO_PADS = 'ZeroPads';
export const MASKED_POOLING = 'MaskedMeanMaxPooling';

type LayerArgs = NonNullable<ConstructorParameters<typeof tfTypes.layers.Layer>[0]>;

interface MaskedLayerClasses {
  ZeroPads: new (config?: LayerArgs) => tfTypes.layers.Layer;
  MaskedMeanMaxPooling: new (config?: LayerArgs) => tfTypes.layers.Layer;
}

// One pair per tf namespace (pure-JS tfjs and tfjs-node each have their own layers registry).
const registered = new WeakMap<object, MaskedLayerClasses>();

/** 1 at real positions, 0 at pads: [batch, length, 1]. */
function realPositions(tf: Tf, ids: tfTypes.Tensor): tfTypes.Tensor3D {
  return ids.notEqual(0).cast('float32').expandDims(2) as tfTypes.Tensor3D;
}

/** Registers (once per tf namespace) and returns the layer classes; call before loading such a model. */
export function maskedLayerClasses(tf: Tf): MaskedLayerClasses {
  const existing = registered.get(tf);
  if (existing) return existing;

  /** [features [b, L, d], ids [b, L]] → features with the pad positions set to 0. */
  class ZeroPads extends tf.layers.Layer {
    static className = ZERO_PADS;
    override computeOutputShape(shapes: tfTypes.Shape | tfTypes.Shape[]): tfTypes.Shape {
      return (shapes as tfTypes.Shape[])[0]!;
    }
    override call(inputs: tfTypes.Tensor | tfTypes.Tensor[]): tfTypes.Tensor {
      const [x, ids] = inputs as tfTypes.Tensor[];
      return tf.tidy(() => x!.mul(realPositions(tf, ids!)));
    }
  }

  /** [features [b, L, d], ids [b, L]] → mean over real positions ‖ max over real positions: [b, 2d]; a text with no token gives zeros. */
  class MaskedMeanMaxPooling extends tf.layers.Layer {
    static className = MASKED_POOLING;
    override computeOutputShape(shapes: tfTypes.Shape | tfTypes.Shape[]): tfTypes.Shape {
      const features = (shapes as tfTypes.Shape[])[0]!;
      return [features[0]!, 2 * features[2]!];
    }
    override call(inputs: tfTypes.Tensor | tfTypes.Tensor[]): tfTypes.Tensor {
      const [x, ids] = inputs as tfTypes.Tensor[];
      return tf.tidy(() => {
        const real = realPositions(tf, ids!);
        const count = real.sum(1); // [b, 1]
        const mean = x!.mul(real).sum(1).div(count.maximum(1));
        // Pads get a large negative offset so they never win the max; an empty text then gets 0.
        const max = x!.add(real.sub(1).mul(1e9)).max(1).mul(count.greater(0).cast('float32'));
        return tf.concat([mean, max], 1);
      });
    }
  }

  tf.serialization.registerClass(ZeroPads);
  tf.serialization.registerClass(MaskedMeanMaxPooling);
  const classes = { ZeroPads, MaskedMeanMaxPooling };
  registered.set(tf, classes);
  return classes;
}
