"""Head training on cached features vs. the plain Keras way (frozen backbone recomputed every
epoch: `model.fit` on an image dataset), 20 epochs each, same images, at 224 px. Prints JSON;
target: the cached way >= 10x faster. The first engine run (which fills the cache) is timed too.

    python bench/bench_feature_cache.py [--images 120] [--size 224] [--epochs 20]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import numpy as np  # noqa: E402

from helpers_images import make_class_tree, random_backbone_weights  # noqa: E402
from mbv2gui.core.training.config import TrainConfig  # noqa: E402
from mbv2gui.core.training.train import train  # noqa: E402


def engine_head_seconds(data, config, run_dir) -> tuple[float, float]:
    """(seconds from the head phase's start to its last epoch, whole job seconds)."""
    marks = {}

    def report(event):
        if event["type"] == "phase" and event["phase"] == "head":
            marks["head"] = time.perf_counter()
        elif event["type"] == "epoch":
            marks["last"] = time.perf_counter()

    started = time.perf_counter()
    train(data, config, report, lambda: False, run_dir=run_dir)
    return marks["last"] - marks["head"], time.perf_counter() - started


def keras_baseline_seconds(paths, labels, n_classes, weights, size, epochs, batch_size):
    """The textbook transfer-learning loop: images in, frozen backbone inside, fit."""
    import keras
    import tensorflow as tf

    from mbv2gui.core.training.pipeline import decode_resized

    images = np.stack([decode_resized(p, size) for p in paths])  # decoded once, in memory
    backbone = keras.applications.MobileNetV2(input_shape=(size, size, 3), alpha=0.35,
                                              include_top=False, weights=None)
    backbone.load_weights(weights)
    backbone.trainable = False
    image = keras.Input((size, size, 3))
    x = keras.layers.GlobalAveragePooling2D()(backbone(keras.layers.Rescaling(1 / 127.5, -1)(image),
                                                        training=False))
    out = keras.layers.Dense(n_classes, activation="softmax")(keras.layers.Dropout(0.2)(x))
    model = keras.Model(image, out)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    data = tf.data.Dataset.from_tensor_slices((images, np.asarray(labels))).shuffle(256).batch(
        batch_size).prefetch(2)
    times = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    started = time.perf_counter()
    model.fit(data, epochs=epochs, verbose=0, callbacks=[Timer()])
    return time.perf_counter() - started, times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=120)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        os.environ["XDG_CACHE_HOME"] = str(folder / "cache")
        made = make_class_tree(folder / "data", per_class=args.images // 3, size=256,
                               formats=("jpg",))
        weights = random_backbone_weights(folder / "w.weights.h5", 0.35, args.size)
        config = TrainConfig(image_size=args.size, weights=str(weights), epochs=args.epochs,
                             batch_size=args.batch_size, val_split=0.0,
                             early_stopping_patience=args.epochs + 1)
        _, first_job = engine_head_seconds(folder / "data", config, folder / "run1")
        cached_head, cached_job = engine_head_seconds(folder / "data", config, folder / "run2")
        paths = [str(p) for ps in made.values() for p in ps]
        labels = [k for k, ps in enumerate(made.values()) for _ in ps]
        keras_total, keras_epochs = keras_baseline_seconds(
            paths, labels, len(made), weights, args.size, args.epochs, args.batch_size)
    print(json.dumps({
        "bench": "feature_cache", "images": len(paths), "image_size": args.size, "alpha": 0.35,
        "epochs": args.epochs,
        "cached_head_training_seconds": round(cached_head, 3),
        "cached_whole_job_seconds": round(cached_job, 2),
        "first_job_seconds_with_extraction": round(first_job, 2),
        "keras_fit_frozen_backbone_seconds": round(keras_total, 2),
        "keras_fit_seconds_per_epoch_after_first": round(float(np.mean(keras_epochs[1:])), 3),
        "ratio_head_training": round(keras_total / cached_head, 1),
        "ratio_whole_job": round(keras_total / cached_job, 1), "target_ratio": 10,
        "cpu_count": os.cpu_count()}))


if __name__ == "__main__":
    main()
