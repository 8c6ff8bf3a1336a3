"""Keras 3 / TensorFlow side of ``train_bench.py``: training samples/s of the same networks.

Runs inside a separate virtual environment holding ``tensorflow-cpu`` and ``keras`` (dnacnn and
torch are not needed there); ``train_bench.py`` creates that environment and calls this script
once per measurement.  The networks mirror the dnacnn presets layer for layer (Keras is where
their definitions come from): ``keras-1d`` and ``deepbind`` (both strands through shared layers,
max of the two logits).  Data: random one-hot DNA ``(n, length, 4)`` float32 and 0/1 labels in
memory; loss binary cross-entropy on logits, Adam, ``model.fit`` with Keras' defaults.

Prints one JSON line: ``{"epoch_seconds": [...], "samples": n, "tensorflow": ..., "keras": ...}``.

Run:  keras-venv/bin/python benchmarks/keras_bench.py keras-1d 200 --samples 12800 --epochs 4
"""

from __future__ import annotations

import argparse
import json
import os
import time


def build(name: str, length: int):
    import keras
    from keras import layers

    x = keras.Input((length, 4))
    if name == "keras-1d":
        h = layers.Conv1D(64, 3, activation="relu")(x)
        h = layers.Conv1D(64, 3, activation="relu")(h)
        h = layers.MaxPooling1D(3)(h)
        h = layers.Conv1D(128, 3, activation="relu")(h)
        h = layers.Conv1D(128, 3, activation="relu")(h)
        h = layers.GlobalAveragePooling1D()(h)
        h = layers.Dropout(0.5)(h)
        out = layers.Dense(1)(h)
    elif name == "deepbind":
        conv = layers.Conv1D(16, 24, activation="relu")
        pool = layers.GlobalMaxPooling1D()
        dense = layers.Dense(32, activation="relu")
        drop = layers.Dropout(0.5)
        head = layers.Dense(1)
        rc = layers.Lambda(lambda t: keras.ops.flip(t, axis=(1, 2)))(x)  # reverse complement of ACGT one-hot
        out = layers.Maximum()([head(drop(dense(pool(conv(s))))) for s in (x, rc)])
    else:
        raise SystemExit(f"unknown model {name!r}; use keras-1d or deepbind")
    return keras.Model(x, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("length", type=int)
    parser.add_argument("--samples", type=int, default=12800)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    X = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (args.samples, args.length))]
    y = rng.integers(0, 2, (args.samples, 1)).astype(np.float32)
    model = build(args.model, args.length)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=keras.losses.BinaryCrossentropy(from_logits=True))

    class EpochTimer(keras.callbacks.Callback):
        seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.t0)

    timer = EpochTimer()
    model.fit(X, y, batch_size=args.batch_size, epochs=args.epochs, shuffle=True, verbose=0, callbacks=[timer])
    info = {"epoch_seconds": timer.seconds, "samples": args.samples, "params": model.count_params()}
    print(json.dumps({**info, "tensorflow": tf.__version__, "keras": keras.__version__}))


if __name__ == "__main__":
    main()
