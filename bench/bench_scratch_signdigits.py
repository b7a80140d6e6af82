"""From scratch on ../shared/datasets/sign-digits-mini (5 classes x 40 photos, 100x100 JPEG) at
96 px, alpha 0.35, with the engine's defaults: prints JSON with the validation accuracy and the
time. Target: >= 90% validation accuracy within 5 minutes on 2 CPU cores.

    python bench/bench_scratch_signdigits.py [DATASET] [--epochs N] [--seed S]
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

from mbv2gui.core.training.config import TrainConfig  # noqa: E402

from mbv2gui.core.training.train import train  # noqa: E402

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "sign-digits-mini"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", nargs="?", default=str(DEFAULT))
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    config = TrainConfig(image_size=96, alpha=0.35, weights="none", epochs=args.epochs,
                         seed=args.seed, batch_size=args.batch_size)
    curve = []

    def report(event):
        if event["type"] == "epoch":
            curve.append(round(event["val_accuracy"], 3))
            print(f"epoch {event['epoch']}: loss {event['loss']:.3f} acc {event['accuracy']:.3f} "
                  f"val_acc {event['val_accuracy']:.3f} ({event['seconds']:.1f}s)", file=sys.stderr)

    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        run = train(args.data, config, report, lambda: False, run_dir=Path(folder) / "run")
    seconds = time.monotonic() - started
    print(json.dumps({
        "bench": "scratch_signdigits", "image_size": 96, "alpha": 0.35,
        "train_images": sum(run.metrics["counts"]["train"].values()),
        "validation_images": sum(run.metrics["counts"]["validation"].values()),
        "epochs_run": run.metrics["epochs"], "best_epoch": run.metrics["best_epoch"],
        "val_accuracy": run.metrics["val_accuracy"], "train_accuracy": run.metrics["accuracy"],
        "seconds": round(seconds, 1), "stopped_early": run.metrics["stopped_early"],
        "val_accuracy_curve": curve, "cpu_count": os.cpu_count()}))


if __name__ == "__main__":
    main()
