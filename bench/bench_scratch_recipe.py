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


def app_recipe(train_folder: Path, held_out, seed: int, work: Path, changes=None) -> dict:
    """`changes`: settings other than the defaults, {name: value} (for trying variants)."""
    from mbv2gui.core.training.config import TrainConfig
    from mbv2gui.core.training.train import train

    started = time.monotonic()
    config = TrainConfig(**{"image_size": SIZE, "alpha": ALPHA, "weights": "none",
                            "seed": seed, **(changes or {})})
    run = train(train_folder, config, run_dir=work / f"run-{seed}")
    seconds = time.monotonic() - started
    m = run.metrics
    return {"seed": seed, "test_accuracy": round(held_out_accuracy(run, held_out), 4),
            "val_accuracy": m["val_accuracy"], "train_accuracy": m["accuracy"],
            "epochs": m["epochs"],
            "best_epoch": m["best_epoch"], "stopped_early": m["stopped_early"],
            "trained_on": sum(m["counts"]["train"].values()),
            "validation_images": sum(m["counts"]["validation"].values()),
            "seconds": round(seconds, 1)}


def _decode(path: str):
    import numpy as np
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB").resize((SIZE, SIZE), Image.BILINEAR))


def hand_recipe(train_folder: Path, held_out, seed: int, work: Path, changes=None) -> dict:
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
    steps = -(-len(x) // BATCH)
    warmup = HAND_WARMUP_EPOCHS * steps
    schedule = keras.optimizers.schedules.CosineDecay(
        HAND_PEAK / 10, HAND_EPOCHS * steps - warmup, warmup_target=HAND_PEAK,
        warmup_steps=warmup)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    data = (tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed)
            .batch(BATCH).prefetch(2))
    model.fit(data, epochs=HAND_EPOCHS, verbose=0)
    seconds = time.monotonic() - started
    test_x = np.stack([_decode(p) for p, _ in held_out])
    truth = np.array([classes.index(c) for _, c in held_out])
    answers = model.predict(test_x, batch_size=64, verbose=0).argmax(axis=1)
    return {"seed": seed, "test_accuracy": round(float(np.mean(answers == truth)), 4),
            "epochs": HAND_EPOCHS, "trained_on": len(x), "seconds": round(seconds, 1)}


RECIPES = {"app": app_recipe, "hand": hand_recipe}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", choices=sorted(SETS), default="signs")
    parser.add_argument("--recipe", choices=sorted(RECIPES), default="app")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--label", default="", help="a name for this measurement in the JSON")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="an app setting other than its default (a TrainConfig field)")
    args = parser.parse_args()
    changes = {name: json.loads(value) for name, value in
               (item.split("=", 1) for item in args.set)}
    folder, held, per_class = SETS[args.data]
    rows = []
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        held_out = split_copy(DATASETS / folder, work, held, per_class, SPLIT_SEED)
        for seed in args.seeds:
            rows.append(RECIPES[args.recipe](work / "train", held_out, seed, work, changes))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    mean = {key: round(sum(r[key] for r in rows) / len(rows), 4)
            for key in ("test_accuracy", "seconds")}
    print(json.dumps({"bench": "scratch_recipe", "data": args.data, "recipe": args.recipe,
                      "label": args.label, "changes": changes,
                      "held_out_images": len(held_out),
                      "image_size": SIZE, "alpha": ALPHA, "cpu_count": os.cpu_count(),
                      "per_seed": rows, "mean": mean}))


if __name__ == "__main__":
    main()
