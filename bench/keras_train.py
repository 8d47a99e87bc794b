"""Keras side of bench/train.mjs: the pipeline's default teacher and student, trained like
lib/ml/train/train.ts trains them, on the token ids bench/train.mjs encoded.

Usage: python bench/keras_train.py CONFIG.json  (written by bench/train.mjs; prints one JSON line)

Mirrors lib/ml/models/models.ts and lib/ml/train/train.ts:
- embedding: RandomUniform(-0.05, 0.05); conv/dense kernels Glorot uniform, zero biases;
- teacher: Embedding -> [Conv1D(filters, k, 'same', relu) -> GlobalMaxPool] for each k -> concat
  -> Dropout -> Dense(hidden, relu) -> Dense(classes) logits;
- student (arch pool): Embedding -> concat(GlobalAveragePool, GlobalMaxPool) -> Dense(classes)
  (GlobalAveragePooling1D over all max_len positions, padding included, as tfjs does);
- loss: softmax cross-entropy on logits, mean over the batch; Adam(lr, 0.9, 0.999, 1e-7);
- per-epoch LR: linear warm-up over warmup_epochs then cosine decay (train.ts learningRate);
- shuffled mini-batches, after each epoch loss/accuracy on the whole training and validation
  sets, best validation-loss weights restored at the end; early stopping off (patience = epochs).
"""

import json
import math
import sys
import time

import numpy as np
import tensorflow as tf


def learning_rate(p, epoch):
    if epoch < p["warmup_epochs"]:
        return p["learning_rate"] * (epoch + 1) / (p["warmup_epochs"] + 1)
    if p["decay"] == "none":
        return p["learning_rate"]
    progress = (epoch - p["warmup_epochs"]) / max(1, p["epochs"] - p["warmup_epochs"])
    return 0.5 * p["learning_rate"] * (1 + math.cos(math.pi * progress))


def embed(inputs, vocab_size, dim):
    init = tf.keras.initializers.RandomUniform(minval=-0.05, maxval=0.05)
    return tf.keras.layers.Embedding(vocab_size, dim, embeddings_initializer=init)(inputs)


def head(x, classes, hidden, dropout):
    if dropout > 0:
        x = tf.keras.layers.Dropout(dropout)(x)
    if hidden > 0:
        x = tf.keras.layers.Dense(hidden, activation="relu")(x)
    return tf.keras.layers.Dense(classes)(x)


def build_teacher(params, data):
    t = params["teacher"]
    inputs = tf.keras.Input(shape=(data["maxLen"],), dtype="int32")
    x = embed(inputs, data["vocabSize"], t["embedding_dim"])
    branches = [
        tf.keras.layers.GlobalMaxPooling1D()(tf.keras.layers.Conv1D(t["cnn"]["filters"], k, padding="same", activation="relu")(x))
        for k in t["cnn"]["kernel_sizes"]
    ]
    features = branches[0] if len(branches) == 1 else tf.keras.layers.Concatenate()(branches)
    return tf.keras.Model(inputs, head(features, data["numClasses"], t["hidden"], t["dropout"]))


def build_student(params, data):
    s = params["student"]["model"]
    if s["arch"] != "pool":
        raise SystemExit(f"keras_train.py mirrors student arch 'pool' only, not {s['arch']!r}")
    inputs = tf.keras.Input(shape=(data["maxLen"],), dtype="int32")
    x = embed(inputs, data["vocabSize"], s["embedding_dim"])
    features = tf.keras.layers.Concatenate()([tf.keras.layers.GlobalAveragePooling1D()(x), tf.keras.layers.GlobalMaxPooling1D()(x)])
    return tf.keras.Model(inputs, head(features, data["numClasses"], s["hidden"], 0))


class EpochEvalAndBest(tf.keras.callbacks.Callback):
    """After each epoch: loss/accuracy on train and validation (as train.ts does); keeps the best
    validation-loss weights and restores them when training ends."""

    def __init__(self, train, val, batch_size):
        super().__init__()
        self.train, self.val, self.batch_size = train, val, batch_size
        self.best_loss, self.best_weights = math.inf, None

    def on_epoch_end(self, epoch, logs=None):
        self.model.evaluate(*self.train, batch_size=self.batch_size, verbose=0)
        val_loss, _ = self.model.evaluate(*self.val, batch_size=self.batch_size, verbose=0)
        if val_loss < self.best_loss:
            self.best_loss, self.best_weights = val_loss, self.model.get_weights()

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


def time_inference(fn, min_seconds):
    """Repeats fn (already warmed up) for at least min_seconds and at least once."""
    repeats, t0 = 0, time.perf_counter()
    while repeats < 1 or time.perf_counter() - t0 < min_seconds:
        fn()
        repeats += 1
    return repeats, time.perf_counter() - t0


def main():
    config = json.load(open(sys.argv[1]))
    with open(config["data"]) as f:
        data = json.load(f)
    split = lambda s: (np.asarray(s["ids"], dtype=np.int32), np.asarray(s["y"], dtype=np.int32))
    train, val, test = split(data["train"]), split(data["val"]), split(data["test"])
    # train.ts evaluates with model.predict(ids), whose default batch size in tfjs is 32.
    epoch_eval_batch = 32
    eval_batch = config["inferenceBatch"]
    results = []
    for run in config["runs"]:
        p = dict(run["train"], epochs=run["epochs"], patience=run["epochs"])
        for seed in run["seeds"]:
            tf.keras.utils.set_random_seed(seed)
            model = build_teacher(config["params"], data) if run["model"] == "teacher" else build_student(config["params"], data)
            model.compile(
                optimizer=tf.keras.optimizers.Adam(learning_rate=p["learning_rate"], beta_1=0.9, beta_2=0.999, epsilon=1e-7),
                loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=["accuracy"],
            )
            callbacks = [tf.keras.callbacks.LearningRateScheduler(lambda e, _lr: learning_rate(p, e)), EpochEvalAndBest(train, val, epoch_eval_batch)]
            t0, cpu0 = time.perf_counter(), time.process_time()
            history = model.fit(*train, batch_size=p["batch_size"], epochs=p["epochs"], shuffle=True, callbacks=callbacks, verbose=0)
            train_seconds = time.perf_counter() - t0
            train_cpu_seconds = time.process_time() - cpu0  # all threads of the process
            logits = model.predict(test[0], batch_size=eval_batch, verbose=0)  # doubles as the inference warm-up
            accuracy = float(np.mean(np.argmax(logits, axis=1) == test[1]))
            repeats, seconds = time_inference(lambda: model.predict(test[0], batch_size=eval_batch, verbose=0), config["inferenceSeconds"])
            epochs = len(history.history["loss"])
            results.append(
                {
                    "model": run["model"],
                    "seed": seed,
                    "epochs": epochs,
                    "trainSeconds": train_seconds,
                    "trainSamplesPerSec": epochs * len(train[1]) / train_seconds,
                    "trainSamplesPerCpuSec": epochs * len(train[1]) / train_cpu_seconds,
                    "inferencePerSec": repeats * len(test[1]) / seconds,
                    "testAccuracy": accuracy,
                    "finalLoss": float(history.history["loss"][-1]),
                }
            )
            print(f"  keras {run['model']} seed {seed}: {train_seconds:.1f} s, test acc {accuracy:.4f}", file=sys.stderr)
            tf.keras.backend.clear_session()
    print(json.dumps({"version": tf.__version__, "results": results}))


if __name__ == "__main__":
    main()
