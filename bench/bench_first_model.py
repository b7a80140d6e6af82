"""Time to the first finished model of a pretrained training (features of the frozen backbone,
then the head) on 2,000 real JPEGs with a cold feature cache: today's Keras forward ("before")
vs. the fast runtime with the conversion made during the job ("after, first time") and with the
conversion already made by an earlier training of the same backbone ("after, converted").
Interleaved, in one process; prints JSON.

    python bench/bench_first_model.py [--images 2000] [--size 224] [--alpha 1.0] [--epochs 10]

Images: the first `--images` of ../shared/datasets/cifar10-5k, 10 classes (32x32 JPEGs).
Weights: a random backbone's weights file, as the tests make (speed does not depend on them).
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

from bench_runtime import keras_only  # noqa: E402
from helpers_images import random_backbone_weights  # noqa: E402
from mbv2gui.core.training.train import TrainConfig, train  # noqa: E402

CIFAR = ROOT.parent / "shared" / "datasets" / "cifar10-5k"


def image_folder(count: int, folder: Path) -> Path:
    """`count` images spread evenly over cifar10-5k's classes, linked into one folder tree."""
    classes = sorted(p for p in CIFAR.iterdir() if p.is_dir())
    per_class = -(-count // len(classes))
    for cls in classes:
        (folder / cls.name).mkdir(parents=True)
        for image in sorted(cls.glob("*.jpg"))[:per_class]:
            os.symlink(image, folder / cls.name / image.name)
    return folder


def first_model(data: Path, config: TrainConfig, cache: Path, work: Path) -> dict:
    """One training with the feature cache (and the runtime's conversions) in `cache`."""
    os.environ["XDG_CACHE_HOME"] = str(cache)  # the per-user cache of a folder training
    marks = {}

    def report(event):
        if event["type"] == "phase":
            marks.setdefault(event["phase"], time.perf_counter())
        elif event["type"] == "message" and "Keras" in event.get("text", ""):
            marks["fallback"] = event["text"]

    started = time.perf_counter()
    train(data, config, report, lambda: False, run_dir=Path(tempfile.mkdtemp(dir=work)) / "run")
    total = time.perf_counter() - started
    features = marks.get("head", time.perf_counter()) - marks.get("features", started)
    return {"seconds": round(total, 1), "features_seconds": round(features, 1),
            "fell_back": marks.get("fallback")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--alpha", type=float, default=1.0)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        data = image_folder(args.images, work / "data")
        weights = random_backbone_weights(work / "w.weights.h5", args.alpha, args.size)
        config = TrainConfig(image_size=args.size, alpha=args.alpha, weights=str(weights),
                             epochs=args.epochs)
        shared = work / "converted-cache"
        # TensorFlow's first training in a process pays its one-off start: not either side's
        small = image_folder(100, work / "warm")
        with keras_only():
            first_model(small, config, work / "warm-cache", work)
        with keras_only():
            before = first_model(data, config, work / "cold-keras", work)
        after_first = first_model(data, config, shared, work)
        # The same backbone again, features cold, its conversion kept: the runtime folder is
        # moved to a fresh cache (a new project training the same backbone).
        again = work / "cold-again"
        for runtime_folder in shared.rglob("runtime"):
            target = again / runtime_folder.relative_to(shared)
            target.parent.mkdir(parents=True, exist_ok=True)
            runtime_folder.rename(target)
        after_converted = first_model(data, config, again, work)
    print(json.dumps({
        "bench": "first_model", "images": args.images, "image_size": args.size,
        "alpha": args.alpha, "head_epochs": args.epochs, "cpu_count": os.cpu_count(),
        "before_keras": before, "after_first_time": after_first,
        "after_converted": after_converted,
        "speedup_first_time": round(before["seconds"] / after_first["seconds"], 2),
        "speedup_converted": round(before["seconds"] / after_converted["seconds"], 2),
        "features_speedup_first_time": round(
            before["features_seconds"] / max(0.1, after_first["features_seconds"]), 2),
        "features_speedup_converted": round(
            before["features_seconds"] / max(0.1, after_converted["features_seconds"]), 2)},
        indent=1))


if __name__ == "__main__":
    main()
