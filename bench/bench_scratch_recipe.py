"""From scratch: the app's default recipe against a careful hand recipe in plain Keras, on real
photos, scored on held-out images neither model trained on. Prints JSON (per seed and the mean).

The sets, split once with a fixed seed (the split does not change with --seeds):
  cifar  ../shared/datasets/cifar10-5k: 400 training / 100 held-out photos per class (32x32)
  signs  ../shared/datasets/sign-digits-mini: 30 training / 10 held-out photos per class

The recipes, both at 96 px, alpha 0.35, batch 32, from random weights:
  app    `train(folder, TrainConfig(weights="none", seed=seed))`: whatever the app's defaults
         are (epochs, schedule, validation, augmentation), as `mbv2gui train --weights none` runs
  hand   the issue's careful recipe, written here in plain Keras with no app code: BatchNorm
         momentum 0.9, dropout 0.2, Adam with a linear warm-up to 2e-3 then cosine decay,
         40 epochs, flip/rotation/shift/zoom, every training photo, no early stopping

    python bench/bench_scratch_recipe.py --data cifar --recipe app --seeds 0 1 2

With --per-class N, each class trains on only N of its training photos (the held-out photos
stay the same): what a user with N labeled images per class gets, for the expectations the
Train view states (core/inference/quality.py).

Time, with --time-epochs N: each recipe trains only N epochs (N >= 3), and its full length is
estimated as those seconds plus its remaining epochs at the median of its later epochs' seconds
(the first pays for tracing). Run the recipes one after the other, alone on the machine: two
trainings sharing the cores time neither. The accuracy of such a run is not the recipe's.
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
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_start_point import DATASETS, held_out_accuracy, split_copy  # noqa: E402

SETS = {"cifar": ("cifar10-5k", 100, 400), "signs": ("sign-digits-mini", 10, 30)}
SPLIT_SEED = 0
SIZE, ALPHA, BATCH = 96, 0.35, 32
HAND_EPOCHS, HAND_PEAK, HAND_WARMUP_EPOCHS = 40, 2e-3, 2


def app_recipe(train_folder: Path, held_out, seed: int, work: Path, changes=None,
               time_epochs=None) -> dict:
    """`changes`: settings other than the defaults, {name: value} (for trying variants)."""
    from mbv2gui.core.training.config import TrainConfig
    from mbv2gui.core.training.scratch_recipe import scratch_epochs
    from mbv2gui.core.training.train import train

    started = time.monotonic()
    timed = {"epochs": time_epochs} if time_epochs else {}
    config = TrainConfig(**{"image_size": SIZE, "alpha": ALPHA, "weights": "none",
                            "seed": seed, **(changes or {}), **timed})
    run = train(train_folder, config, run_dir=work / f"run-{seed}")
    seconds = time.monotonic() - started
    m = run.metrics
    trained_on = sum(m["counts"]["train"].values())
    row = {"seed": seed, "test_accuracy": round(held_out_accuracy(run, held_out), 4),
           "val_accuracy": m["val_accuracy"], "train_accuracy": m["accuracy"],
           "epochs": m["epochs"],
           "best_epoch": m["best_epoch"], "stopped_early": m["stopped_early"],
           "trained_on": trained_on,
           "validation_images": sum(m["counts"]["validation"].values()),
           "seconds": round(seconds, 1)}
    full = (changes or {}).get("epochs") or scratch_epochs(trained_on)
    return row | _timing(seconds, run.history["seconds"], full) if time_epochs else row


def _timing(seconds: float, epoch_seconds: list, full_epochs: int) -> dict:
    """A short run's seconds, extended to the recipe's full length at its later epochs' pace."""
    import statistics

    pace = statistics.median(epoch_seconds[1:])
    return {"epoch_seconds": [round(e, 1) for e in epoch_seconds], "full_epochs": full_epochs,
            "estimated_full_seconds": round(seconds + (full_epochs - len(epoch_seconds)) * pace,
                                            1)}


def _decode(path: str):
    import numpy as np
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB").resize((SIZE, SIZE), Image.BILINEAR))


def hand_recipe(train_folder: Path, held_out, seed: int, work: Path, changes=None,
                time_epochs=None) -> dict:
    """The careful recipe, plain Keras only (its own decoding, fit, evaluate)."""
    if changes:
        raise SystemExit("--set changes the app's settings; the hand recipe is fixed")
    import keras
    import numpy as np
    import tensorflow as tf

    started = time.monotonic()
    classes = sorted(p.name for p in train_folder.iterdir() if p.is_dir())
    files = [(f, k) for k, c in enumerate(classes) for f in sorted((train_folder / c).iterdir())]
    x = np.stack([_decode(str(f)) for f, _ in files])
    y = np.array([k for _, k in files])
    keras.utils.set_random_seed(seed)
    base = keras.applications.MobileNetV2(input_shape=(SIZE, SIZE, 3), alpha=ALPHA,
                                          include_top=False, weights=None)
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.9
    augment = keras.Sequential([
        keras.layers.RandomFlip("horizontal"),
        keras.layers.RandomRotation(0.06, fill_mode="reflect"),
        keras.layers.RandomTranslation(0.1, 0.1, fill_mode="reflect"),
        keras.layers.RandomZoom((-0.15, 0.15), fill_mode="reflect")])
    inputs = keras.Input((SIZE, SIZE, 3))
    h = keras.layers.Rescaling(1 / 127.5, offset=-1)(augment(inputs))
    h = keras.layers.GlobalAveragePooling2D()(base(h))
    outputs = keras.layers.Dense(len(classes), activation="softmax")(keras.layers.Dropout(0.2)(h))
    model = keras.Model(inputs, outputs)
    steps, epochs = -(-len(x) // BATCH), time_epochs or HAND_EPOCHS
    warmup = HAND_WARMUP_EPOCHS * steps
    schedule = keras.optimizers.schedules.CosineDecay(
        HAND_PEAK / 10, epochs * steps - warmup, warmup_target=HAND_PEAK,
        warmup_steps=warmup)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    data = (tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed)
            .batch(BATCH).prefetch(2))
    clock = epoch_clock()
    model.fit(data, epochs=epochs, verbose=0, callbacks=[clock])
    seconds = time.monotonic() - started
    test_x = np.stack([_decode(p) for p, _ in held_out])
    truth = np.array([classes.index(c) for _, c in held_out])
    answers = model.predict(test_x, batch_size=64, verbose=0).argmax(axis=1)
    row = {"seed": seed, "test_accuracy": round(float(np.mean(answers == truth)), 4),
           "epochs": epochs, "trained_on": len(x), "seconds": round(seconds, 1)}
    return row | _timing(seconds, clock.seconds, HAND_EPOCHS) if time_epochs else row


def epoch_clock():
    """A Keras callback noting each epoch's seconds (Keras is imported only when it runs)."""
    import keras

    class Clock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.monotonic()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.monotonic() - self.started)

    return Clock()


RECIPES = {"app": app_recipe, "hand": hand_recipe}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", choices=sorted(SETS), default="signs")
    parser.add_argument("--recipe", choices=sorted(RECIPES), default="app")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--label", default="", help="a name for this measurement in the JSON")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="an app setting other than its default (a TrainConfig field)")
    parser.add_argument("--time-epochs", type=int, default=None, metavar="N",
                        help="time only: train N epochs (N >= 3) and estimate the full length")
    parser.add_argument("--per-class", type=int, default=None, metavar="N",
                        help="train on only N photos per class (default: all of the set's)")
    args = parser.parse_args()
    if args.time_epochs is not None and args.time_epochs < 3:
        parser.error("--time-epochs needs at least 3: the first is tracing, the hand recipe "
                     "warms up over 2")
    changes = {name: json.loads(value) for name, value in
               (item.split("=", 1) for item in args.set)}
    folder, held, per_class = SETS[args.data]
    if args.per_class is not None:
        if not 2 <= args.per_class <= per_class:
            parser.error(f"--per-class must be between 2 and {per_class} for {args.data}")
        per_class = args.per_class
    rows = []
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        held_out = split_copy(DATASETS / folder, work, held, per_class, SPLIT_SEED)
        for seed in args.seeds:
            rows.append(RECIPES[args.recipe](work / "train", held_out, seed, work, changes,
                                             args.time_epochs))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    keys = ("estimated_full_seconds",) if args.time_epochs else ("test_accuracy", "seconds")
    mean = {key: round(sum(r[key] for r in rows) / len(rows), 4) for key in keys}
    print(json.dumps({"bench": "scratch_recipe", "data": args.data, "recipe": args.recipe,
                      "label": args.label, "changes": changes, "time_epochs": args.time_epochs,
                      "per_class": per_class,
                      "held_out_images": len(held_out),
                      "image_size": SIZE, "alpha": ALPHA, "cpu_count": os.cpu_count(),
                      "per_seed": rows, "mean": mean}))


if __name__ == "__main__":
    main()
