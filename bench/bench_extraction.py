"""End-to-end feature extraction from JPEG files (parallel decode through the one image loader,
resize, backbone forward) vs. the backbone's own forward throughput on in-memory tensors of the
same size. Prints JSON; target ratio >= 0.8.

    python bench/bench_extraction.py [--images 256] [--size 224] [--alpha 0.35]
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
from mbv2gui.core.training.features import compute_features  # noqa: E402
from mbv2gui.core.training.weights import Weights  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--alpha", type=float, default=0.35)
    parser.add_argument("--photo-size", type=int, default=320, help="side of the JPEG files")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        made = make_class_tree(folder, per_class=args.images // 3, size=args.photo_size,
                               formats=("jpg",))
        paths = [str(p) for ps in made.values() for p in ps]
        backbone = M.build_backbone(args.alpha, args.size, Weights("none", None, "", "none"), 0.9)
        model = M.build_feature_model(backbone, args.size)
        forward = M.compiled_forward(model)
        batch = np.random.default_rng(0).integers(0, 256, (args.batch_size, args.size, args.size, 3))
        forward(batch.astype(np.uint8))  # trace once, outside the timings
        forward(batch[:1].astype(np.uint8))

        def in_memory() -> float:
            started = time.perf_counter()
            for start in range(0, len(paths), args.batch_size):
                forward(batch[: min(args.batch_size, len(paths) - start)].astype(np.uint8))
            return len(paths) / (time.perf_counter() - started)

        def from_files() -> float:
            started = time.perf_counter()
            _, ok, errors = compute_features(model, paths, [str(i) for i in range(len(paths))],
                                             args.size, None, lambda e: None, lambda: False,
                                             args.batch_size)
            assert ok.all() and not errors
            return len(paths) / (time.perf_counter() - started)

        # Alternate the two, back to back: other processes on the machine slow single rounds
        # down at random, so both the ratio of the best rounds and the median ratio are given.
        rounds = [(in_memory(), from_files()) for _ in range(args.rounds)]
    best_memory, best_files = max(r[0] for r in rounds), max(r[1] for r in rounds)
    print(json.dumps({
        "bench": "extraction", "images": len(paths), "image_size": args.size,
        "alpha": args.alpha, "jpeg_side": args.photo_size, "batch_size": args.batch_size,
        "rounds": args.rounds,
        "forward_in_memory_images_per_second": round(best_memory, 1),
        "extraction_from_files_images_per_second": round(best_files, 1),
        "ratio_of_bests": round(best_files / best_memory, 3),
        "ratio_median_of_rounds": round(float(np.median([f / m for m, f in rounds])), 3),
        "target_ratio": 0.8, "ratios_per_round": [round(f / m, 3) for m, f in rounds],
        "cpu_count": os.cpu_count()}))


if __name__ == "__main__":
    main()
