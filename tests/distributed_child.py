"""Run in a fresh interpreter by tests/test_distributed.py: TensorFlow must be told to split the
CPU into two logical devices before it first looks at its devices, once per process.

Trains one tiny model on the same batches on one device and with MirroredStrategy over two
logical CPUs, and prints what each gave as JSON (argv[1]: "step" or "train"); or ("machine")
is one worker of a training spread over processes by TF_CONFIG."""

from __future__ import annotations

import json
import os
import sys

import numpy as np


def split_cpu_in_two():
    from mbv2gui.core.training.tfsetup import tf

    t = tf()
    cpu = t.config.list_physical_devices("CPU")[0]
    t.config.set_logical_device_configuration(cpu, [t.config.LogicalDeviceConfiguration()] * 2)
    return t.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])


def step_results(strategy):
    """Loss, accuracy and final weights of a small conv net (L2 on its last layer) after
    batches of 8, 8, 5 (split 2 + 3) and 1 (fewer images than replicas), unequal weights."""
    from mbv2gui.core.training import model as M
    from mbv2gui.core.training.tfsetup import keras

    k = keras()
    k.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    batches = []
    for size in (8, 8, 5, 1):
        batches.append((rng.normal(size=(size, 8, 8, 3)).astype(np.float32),
                        np.eye(3, dtype=np.float32)[rng.integers(0, 3, size)],
                        rng.uniform(0.5, 2.0, size).astype(np.float32)))
    with strategy.scope():
        inputs = k.Input((8, 8, 3))
        x = k.layers.Conv2D(4, 3, activation="relu")(inputs)
        x = k.layers.GlobalAveragePooling2D()(x)
        outputs = k.layers.Dense(3, activation="softmax",
                                 kernel_regularizer=k.regularizers.L2(1e-2))(x)
        model = k.Model(inputs, outputs)
        loss, accuracy = M.targets_loss(3, False, 4.0, 0.3)
        step = M.train_step(model, k.optimizers.Adam(1e-2), loss, accuracy, strategy)
    scores = [[float(v) for v in step(*batch)] for batch in batches]
    return {"scores": scores, "weights": [np.asarray(w).ravel().tolist()
                                          for w in model.get_weights()]}


def training_results(strategy, folder, batch_size, weights):
    """A whole training (ImageNet-style start from a weights file: features, then the head with
    no dropout) with `strategy` in place of the machine's own: its history and predictions."""
    from mbv2gui.core.training import tfsetup
    from mbv2gui.core.training.config import TrainConfig
    from mbv2gui.core.training.train import train

    tfsetup.strategy = lambda: strategy
    config = TrainConfig(image_size=32, weights=str(weights), epochs=3, batch_size=batch_size,
                         dropout=0.0)
    run = train(folder / "data", config, run_dir=folder / f"run-{batch_size}")
    return {"loss": run.history["loss"], "val_loss": run.history["val_loss"],
            "probabilities": [p["probabilities"] for p in run.predictions]}


def one_of_the_machines(folder, weights, out, batch_size):
    """A worker of a training spread over processes (TF_CONFIG set by the test): the same
    training as training_results, through the --distributed command's own set-up."""
    from mbv2gui.commands.train import _join_the_machines
    from mbv2gui.core.training.config import TrainConfig
    from mbv2gui.core.training.train import train

    if os.environ.get("TF_CONFIG"):
        chief, out = _join_the_machines(out)
    config = TrainConfig(image_size=32, weights=str(weights), epochs=3, batch_size=batch_size,
                         dropout=0.0)
    run = train(folder / "data", config, run_dir=out)
    print(json.dumps({"run": str(run.run_dir), "loss": run.history["loss"],
                      "val_loss": run.history["val_loss"]}))


def main():
    if sys.argv[1] == "machine":
        from pathlib import Path

        return one_of_the_machines(Path(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]))
    mirrored = split_cpu_in_two()
    from mbv2gui.core.training.tfsetup import tf

    if sys.argv[1] == "train":
        from pathlib import Path

        from helpers_images import make_class_tree, random_backbone_weights

        folder = Path(sys.argv[2])
        make_class_tree(folder / "data", ["red", "blue", "green"], per_class=7, size=32)
        weights = random_backbone_weights(folder / "w.weights.h5")
        one = training_results(tf().distribute.get_strategy(), folder, 8, weights)
        two = training_results(mirrored, folder, 4, weights)  # 4 a replica: the same 8 a step
    else:
        one = step_results(tf().distribute.get_strategy())
        two = step_results(mirrored)
    print(json.dumps({"replicas": mirrored.num_replicas_in_sync, "one": one, "two": two}))


if __name__ == "__main__":
    sys.exit(main())
