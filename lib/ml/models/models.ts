import type * as tfTypes from '@tensorflow/tfjs';
import type { Tf } from '../backend/backend.js';
import type { MlParams, StudentModel } from '../params.js';
import { maskedLayerClasses } from './masked-layers.js';
import { stepDropoutClass } from './step-dropout.js';

/** Sizes every model needs besides its own params section. */
export interface ModelShape {
  vocabSize: number;
  maxLen: number;
  numClasses: number;
  seed: number;
}

type SymbolicTensor = tfTypes.SymbolicTensor;

function embed(tf: Tf, input: SymbolicTensor, shape: ModelShape, dim: number): SymbolicTensor {
  return tf.layers
    .embedding({ inputDim: shape.vocabSize, outputDim: dim, embeddingsInitializer: tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed: shape.seed }) })
    .apply(input) as SymbolicTensor;
}

/** Optional dropout (a fresh mask per training step, see step-dropout.ts) and hidden ReLU layer, then a dense layer of LOGITS (no softmax). */
function head(tf: Tf, features: SymbolicTensor, shape: ModelShape, hidden: number, dropout: number): SymbolicTensor {
  let x = features;
  if (dropout > 0) x = new (stepDropoutClass(tf))({ rate: dropout, seed: shape.seed }).apply(x) as SymbolicTensor;
  if (hidden > 0) {
    x = tf.layers.dense({ units: hidden, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: shape.seed + 1 }) }).apply(x) as SymbolicTensor;
  }
  return tf.layers.dense({ units: shape.numClasses, kernelInitializer: tf.initializers.glorotUniform({ seed: shape.seed + 2 }) }).apply(x) as SymbolicTensor;
}

/** Parallel Conv1D branches of different widths, each max-pooled over time, concatenated. */
function convFeatures(tf: Tf, x: SymbolicTensor, filters: number, kernelSizes: number[], seed: number): SymbolicTensor {
  const branches = kernelSizes.map(
    (k, i) =>
      tf.layers.globalMaxPooling1d().apply(
        tf.layers.conv1d({ filters, kernelSize: k, activation: 'relu', padding: 'same', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 10 + i }) }).apply(x),
      ) as SymbolicTensor,
  );
  return branches.length === 1 ? branches[0]! : (tf.layers.concatenate().apply(branches) as SymbolicTensor);
}

/** One teacher member: multi-width CNN or BiLSTM over embeddings. */
export function buildTeacherMember(tf: Tf, kind: 'cnn' | 'bilstm', p: MlParams['teacher'], shape: ModelShape): tfTypes.LayersModel {
  const input = tf.input({ shape: [shape.maxLen], dtype: 'int32' });
  const x = embed(tf, input, shape, p.embedding_dim);
  const features =
    kind === 'cnn'
      ? convFeatures(tf, x, p.cnn.filters, p.cnn.kernel_sizes, shape.seed)
      : (tf.layers.bidirectional({ layer: tf.layers.lstm({ units: p.bilstm.units, kernelInitializer: tf.initializers.glorotUniform({ seed: shape.seed + 20 }), recurrentInitializer: tf.initializers.orthogonal({ seed: shape.seed + 21 }) }) as tfTypes.RNN }).apply(x) as SymbolicTensor);
  return tf.model({ inputs: input, outputs: head(tf, features, shape, p.hidden, p.dropout), name: `teacher_${kind}` });
}

/** A classifier on fixed-size feature vectors (a frozen encoder's sentence embeddings): logistic regression, or one hidden ReLU layer. */
export function buildEmbeddingHead(tf: Tf, p: { type: 'logistic' | 'hidden'; hidden: number; dropout: number }, dim: number, numClasses: number, seed: number): tfTypes.LayersModel {
  const input = tf.input({ shape: [dim], dtype: 'float32' });
  const logits = head(tf, input, { vocabSize: 0, maxLen: dim, numClasses, seed }, p.type === 'hidden' ? p.hidden : 0, p.dropout);
  return tf.model({ inputs: input, outputs: logits, name: `teacher_head_${p.type}` });
}

/**
 * The student over ids of any length (input shape [batch, null]): embedding, pads zeroed, then
 * either nothing ('pool') or ReLU convolutions of each `kernel_sizes` width ('cnn', the student's
 * view of word order), mean‖max pooling over the real positions, optional dropout and hidden layer, logits.
 * A text gets the same logits whatever its batch is padded to (see masked-layers.ts).
 */
export function buildStudent(tf: Tf, p: StudentModel, shape: Omit<ModelShape, 'maxLen'>): tfTypes.LayersModel {
  const { ZeroPads, MaskedMeanMaxPooling } = maskedLayerClasses(tf);
  const input = tf.input({ shape: [null], dtype: 'int32' });
  const x = new ZeroPads().apply([embed(tf, input, { ...shape, maxLen: 0 }, p.embedding_dim), input]) as SymbolicTensor;
  const pool = (features: SymbolicTensor) => new MaskedMeanMaxPooling().apply([features, input]) as SymbolicTensor;
  let features: SymbolicTensor;
  if (p.arch === 'pool') features = pool(x);
  else {
    const branches = p.kernel_sizes.map((k, i) => {
      const conv = tf.layers.conv1d({ filters: p.filters, kernelSize: k, activation: 'relu', padding: 'same', kernelInitializer: tf.initializers.glorotUniform({ seed: shape.seed + 10 + i }) });
      return pool(conv.apply(x) as SymbolicTensor);
    });
    features = branches.length === 1 ? branches[0]! : (tf.layers.concatenate().apply(branches) as SymbolicTensor);
  }
  return tf.model({ inputs: input, outputs: head(tf, features, { ...shape, maxLen: 0 }, p.hidden, p.dropout), name: `student_${p.arch}` });
}
