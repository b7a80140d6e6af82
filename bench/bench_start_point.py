"""Starting from an earlier model's backbone against training from scratch, on the same small
real set: ../shared/datasets/sign-digits-mini (5 classes x 40 photos). A seeded part of each
class is held out (never trained on, never used to pick the best epoch); both models are
scored on it. The earlier model is a run the app trains here first, from scratch, the way a
lab would build its own backbone once and reuse it:
  --earlier cifar        other images with other classes (a subset of ../shared/datasets/
                         cifar10-5k, 32x32 photos of animals and vehicles);
  --earlier signs-0-2    the same domain: the training photos of 3 of the 5 sign classes
                         (the held-out photos stay unseen by every model).
Prints JSON.

    python bench/bench_start_point.py [--earlier cifar|signs-0-2] [--held-out 10]
        [--cifar-per-class 80] [--earlier-epochs N] [--fine-tune-epochs 10] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mbv2gui.core.inference.predict import predict_files  # noqa: E402
from mbv2gui.core.training.config import TrainConfig  # noqa: E402
from mbv2gui.core.training.train import train  # noqa: E402

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
SIZE, ALPHA = 96, 0.35


def split_copy(source: Path, target: Path, held_out: int, per_class: int | None, seed: int):
    """Copies each class's images into target/train/<class> (at most `per_class`), keeping
    `held_out` of each class aside; returns [(path, class)] of the held-out images."""
    rng = random.Random(seed)
    kept = []
    for folder in sorted(p for p in source.iterdir() if p.is_dir()):
        files = sorted(f for f in folder.iterdir() if f.suffix.lower() in (".jpg", ".jpeg", ".png"))
        rng.shuffle(files)
        aside, rest = files[:held_out], files[held_out:]
        rest = rest[:per_class] if per_class else rest
        (target / "train" / folder.name).mkdir(parents=True)
        for f in rest:
            shutil.copy(f, target / "train" / folder.name / f.name)
        kept += [(str(f), folder.name) for f in aside]
    return kept


def held_out_accuracy(run, held_out) -> float:
    rows = predict_files(run, [path for path, _ in held_out], top_k=1)
    return sum(row["label"] == truth for row, (_, truth) in zip(rows, held_out)) / len(held_out)


def timed_train(data, config, run_dir):
    started = time.monotonic()
    run = train(data, config, run_dir=run_dir)
    return run, round(time.monotonic() - started, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--held-out", type=int, default=10, help="photos per class held out")
    parser.add_argument("--cifar-per-class", type=int, default=80)
    parser.add_argument("--cifar-classes", type=int, default=10)
    parser.add_argument("--earlier", choices=("cifar", "signs-0-2"), default="cifar")
    parser.add_argument("--earlier-epochs", type=int, default=None,
                        help="default: 12 on cifar, automatic on signs-0-2")
    parser.add_argument("--fine-tune-epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        os.environ["XDG_CACHE_HOME"] = str(work / "cache")  # no features from earlier benches
        held_out = split_copy(DATASETS / "sign-digits-mini", work / "signs", args.held_out, None,
                              args.seed)
        earlier_data = work / "earlier_data"
        if args.earlier == "cifar":
            split_copy(DATASETS / "cifar10-5k", earlier_data, 0, args.cifar_per_class, args.seed)
            keep, what = args.cifar_classes, f"cifar10-5k, {args.cifar_classes} classes x " \
                                             f"{args.cifar_per_class}"
            epochs = args.earlier_epochs or 12
        else:
            shutil.copytree(work / "signs" / "train", earlier_data / "train")
            keep, what = 3, "sign-digits-mini classes 0, 1, 2 (training photos only)"
            epochs = args.earlier_epochs
        for extra in sorted((earlier_data / "train").iterdir())[keep:]:
            shutil.rmtree(extra)
        base = dict(image_size=SIZE, alpha=ALPHA, seed=args.seed)
        earlier, earlier_s = timed_train(earlier_data / "train", TrainConfig(
            **base, weights="none", epochs=epochs), work / "earlier")
        scratch, scratch_s = timed_train(work / "signs" / "train", TrainConfig(
            **base, weights="none"), work / "scratch")
        head, head_s = timed_train(work / "signs" / "train", TrainConfig(
            **base, weights=str(earlier.run_dir)), work / "from_run_head")
        tuned, tuned_s = timed_train(work / "signs" / "train", TrainConfig(
            **base, weights=str(earlier.run_dir), fine_tune_epochs=args.fine_tune_epochs),
            work / "from_run_fine_tuned")
        counts = scratch.metrics["counts"]
        print(json.dumps({
            "bench": "start_point", "image_size": SIZE, "alpha": ALPHA, "seed": args.seed,
            "dataset": "sign-digits-mini", "held_out_images": len(held_out),
            "train_images": sum(counts["train"].values()),
            "validation_images": sum(counts["validation"].values()),
            "earlier_run": {"data": what, "from": "scratch",
                            "epochs": earlier.metrics["epochs"],
                            "val_accuracy": earlier.metrics["val_accuracy"], "seconds": earlier_s},
            "from_scratch": {"held_out_accuracy": held_out_accuracy(scratch, held_out),
                             "val_accuracy": scratch.metrics["val_accuracy"],
                             "epochs": scratch.metrics["epochs"], "seconds": scratch_s},
            "from_earlier_run_head_only": {
                "held_out_accuracy": held_out_accuracy(head, held_out),
                "val_accuracy": head.metrics["val_accuracy"], "epochs": head.metrics["epochs"],
                "seconds": head_s},
            "from_earlier_run_fine_tuned": {
                "held_out_accuracy": held_out_accuracy(tuned, held_out),
                "val_accuracy": tuned.metrics["val_accuracy"], "epochs": tuned.metrics["epochs"],
                "seconds": tuned_s},
            "cpu_count": os.cpu_count()}))


if __name__ == "__main__":
    main()
