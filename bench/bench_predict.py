"""Prediction throughput from JPEG files to a CSV (the Predict view's batch job: parallel decode
through the one image loader, the saved classifier's forward pass, top-k, the CSV written)
vs. the same classifier's forward throughput on in-memory tensors, in the same run.
Prints JSON per image size; target ratio >= 0.8.

    python bench/bench_predict.py [--images 384] [--sizes 224 96] [--rounds 3]
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

from helpers_images import make_class_tree  # noqa: E402
from mbv2gui.core.training import model as M  # noqa: E402
from mbv2gui.core.inference.predict import predict_files, write_csv  # noqa: E402
from mbv2gui.core.runs import Run  # noqa: E402
from mbv2gui.core.training.config import TrainConfig  # noqa: E402
from mbv2gui.core.training.weights import Weights  # noqa: E402

CLASSES = ["red", "blue", "green"]


def classifier_run(folder: Path, size: int, alpha: float) -> Run:
    """A run whose model is the real saved-model structure (random weights: speed does not
    depend on what the weights learned)."""
    backbone = M.build_backbone(alpha, size, Weights("none", None, "", "none"), 0.9)
    model = M.build_classifier(backbone, M.Head.create(len(CLASSES), 0.2, 0.0), size)
    return Run(folder, TrainConfig(image_size=size, alpha=alpha), list(CLASSES), _model=model)


def measure(run: Run, paths: list[str], csv_path: Path, batch_size: int, rounds: int) -> dict:
    size = run.config.image_size
    forward = M.compiled_forward(run.load_model())
    batch = np.random.default_rng(0).integers(0, 256, (batch_size, size, size, 3)).astype(np.uint8)
    forward(batch)  # trace once, outside the timings

    def in_memory() -> float:
        started = time.perf_counter()
        for start in range(0, len(paths), batch_size):
            forward(batch[: min(batch_size, len(paths) - start)])
        return len(paths) / (time.perf_counter() - started)

    def files_to_csv() -> float:
        started = time.perf_counter()
        rows = predict_files(run, paths, batch_size=batch_size)
        with open(csv_path, "w", newline="", encoding="utf-8") as file:
            write_csv(rows, file, 3)
        seconds = time.perf_counter() - started
        assert not any(row["error"] for row in rows) and len(rows) == len(paths)
        return len(paths) / seconds

    # Alternated back to back: other processes on the machine slow single rounds at random.
    results = [(in_memory(), files_to_csv()) for _ in range(rounds)]
    best_memory, best_files = max(r[0] for r in results), max(r[1] for r in results)
    return {"image_size": size, "alpha": run.config.alpha,
            "forward_in_memory_images_per_second": round(best_memory, 1),
            "files_to_csv_images_per_second": round(best_files, 1),
            "ratio_of_bests": round(best_files / best_memory, 3),
            "ratios_per_round": [round(f / m, 3) for m, f in results], "target_ratio": 0.8}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=384)
    parser.add_argument("--sizes", type=int, nargs="+", default=[224, 96])
    parser.add_argument("--alpha", type=float, nargs="+", default=None,
                        help="per size; default 1.0 at 224 px, 0.35 below")
    parser.add_argument("--photo-size", type=int, default=320, help="side of the JPEG files")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    alphas = args.alpha or [1.0 if size >= 224 else 0.35 for size in args.sizes]
    with tempfile.TemporaryDirectory() as folder:
        made = make_class_tree(folder, CLASSES, per_class=args.images // len(CLASSES),
                               size=args.photo_size, formats=("jpg",))
        paths = [str(p) for ps in made.values() for p in ps]
        results = [measure(classifier_run(Path(folder) / f"run{size}", size, alpha), paths,
                           Path(folder) / "predictions.csv", args.batch_size, args.rounds)
                   for size, alpha in zip(args.sizes, alphas)]
    print(json.dumps({"bench": "predict", "images": len(paths), "jpeg_side": args.photo_size,
                      "batch_size": args.batch_size, "rounds": args.rounds,
                      "cpu_count": os.cpu_count(), "results": results}))


if __name__ == "__main__":
    main()
