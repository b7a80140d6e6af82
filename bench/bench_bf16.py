"""From-scratch training with float32 vs mixed_bfloat16 on this CPU: the training step's
images/s and the validation accuracy on ../shared/datasets/sign-digits-mini, the same short run
(same seed, same epochs) for each, the two runs interleaved epoch-for-epoch is not possible, so
they run back to back, float32 first. Prints JSON, with whether the CPU has a bfloat16 unit.

    python bench/bench_bf16.py [--epochs 20] [--size 96]
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
sys.path[:0] = [str(ROOT)]

from mbv2gui.core.training import tfsetup  # noqa: E402
from mbv2gui.core.training.train import TrainConfig, train  # noqa: E402

DATA = ROOT.parent / "shared" / "datasets" / "sign-digits-mini"


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def one_run(policy: str, config: TrainConfig) -> dict:
    original = tfsetup.set_precision_policy

    def chosen() -> str:
        tfsetup.keras().mixed_precision.set_global_policy(policy)
        return policy

    tfsetup.set_precision_policy = chosen
    epochs = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            run = train(DATA, config, lambda e: epochs.append(e) if e["type"] == "epoch" else None,
                        lambda: False, run_dir=Path(folder) / "run")
            seconds = time.perf_counter() - started
    finally:
        tfsetup.set_precision_policy = original
        tfsetup.keras().mixed_precision.set_global_policy("float32")
    train_images = sum(run.metrics["counts"]["train"].values())
    # The first epoch traces the step: images/s over the others, each epoch's own time.
    steady = [e["seconds"] for e in epochs[1:]] or [e["seconds"] for e in epochs]
    return {"policy": policy, "val_accuracy": run.metrics["val_accuracy"],
            "best_epoch": run.metrics["best_epoch"], "epochs_run": run.metrics["epochs"],
            "train_images_per_second": round(train_images / (sum(steady) / len(steady)), 1),
            "fastest_epoch_images_per_second": round(train_images / min(steady), 1),
            "seconds": round(seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    config = TrainConfig(image_size=args.size, alpha=0.35, weights="none", epochs=args.epochs,
                         seed=args.seed, early_stopping_patience=args.epochs)
    flags = cpu_flags()
    results = [one_run(policy, config) for policy in ("float32", "mixed_bfloat16")]
    print(json.dumps({"bench": "bf16", "image_size": args.size, "alpha": 0.35,
                      "epochs": args.epochs, "cpu_count": os.cpu_count(),
                      "cpu_bf16": sorted(flags & {"avx512_bf16", "amx_bf16"}),
                      "results": results,
                      "bf16_speed_ratio": round(results[1]["train_images_per_second"] /
                                                results[0]["train_images_per_second"], 3)},
                     indent=1))


if __name__ == "__main__":
    main()
