"""The app's forward-only jobs on the fast runtime (core/inference/runtime.py) vs. Keras, in one
interleaved run: JPEG files -> predictions CSV and JPEG files -> cached features, against the
fast runtime's bare forward on in-memory tensors of the same size (target >= 0.8x), and
against the same jobs on Keras (today's path: the speed-up). Also the one-off conversion time.

    python bench/bench_runtime.py [--images 1024 256] [--sizes 96 224] [--rounds 2]

96 px uses the first `--images` JPEGs of ../shared/datasets/cifar10-5k (32x32, small real
JPEGs); 224 px uses generated 320x320 JPEG photos (decoding a 32 px file would flatter it).
Random weights: speed does not depend on what the weights learned. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import numpy as np  # noqa: E402

from helpers_images import make_image  # noqa: E402
from mbv2gui.core.inference import runtime  # noqa: E402
from mbv2gui.core.inference.predict import predict_files, write_csv  # noqa: E402
from mbv2gui.core.runs import Run  # noqa: E402
from mbv2gui.core.training import model as M  # noqa: E402
from mbv2gui.core.training.features import FeatureCache, compute_features  # noqa: E402
from mbv2gui.core.training.train import TrainConfig  # noqa: E402
from mbv2gui.core.training.weights import Weights  # noqa: E402

CIFAR = ROOT.parent / "shared" / "datasets" / "cifar10-5k"
CLASSES = ["a", "b", "c"]
BATCH = 32
START = 64


@contextmanager
def keras_only():
    """Today's path: every forward-only job on Keras."""
    original = runtime.forward_for, runtime.run_forward
    runtime.forward_for = lambda model, *a, **k: runtime._keras(model)
    runtime.run_forward = lambda run, *a, **k: runtime._keras(run.load_model())
    try:
        yield
    finally:
        runtime.forward_for, runtime.run_forward = original


def jpegs(size: int, count: int, folder: Path) -> list[str]:
    if size <= 96 and CIFAR.is_dir():
        return [str(p) for p in sorted(CIFAR.rglob("*.jpg"))[:count]]
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"photo_{i:05d}.jpg"
        make_image((40 + 37 * i % 200, 90, 160), ["circle", "square", "cross"][i % 3], 320,
                   seed=i).save(path, quality=90)
        paths.append(str(path))
    return paths


def seconds(work, *args) -> np.ndarray:
    """(wall seconds, CPU seconds of this process): on a machine shared with other work the
    CPU seconds say what the job costs, the wall seconds what a user waits."""
    started = np.array([time.perf_counter(), time.process_time()])
    work(*args)
    return np.array([time.perf_counter(), time.process_time()]) - started


def steady_rate(job, paths: list[str]) -> tuple[np.ndarray, float]:
    """(images/s past the start-up as [wall, CPU], start-up wall seconds): the job on all
    paths and on its first START images, the difference divided, as the issue measured
    `mbv2gui predict` (the start-up, once per job, hashes the model and opens its runtime)."""
    whole, start = seconds(job, paths), seconds(job, paths[:START])
    per_image = (whole - start) / (len(paths) - START)
    return 1.0 / per_image, max(0.0, float(start[0] - START * per_image[0]))


def in_memory(forward, size: int, count: int):
    batch = np.random.default_rng(0).integers(0, 256, (BATCH, size, size, 3)).astype(np.uint8)
    forward(batch)  # warm (trace, allocate) outside the timing
    return lambda: [forward(batch[: min(BATCH, count - s)]) for s in range(0, count, BATCH)]


def measure(size: int, alpha: float, count: int, rounds: int, work: Path) -> dict:
    paths = jpegs(size, count, work / f"jpeg{size}")
    backbone = M.build_backbone(alpha, size, Weights("none", None, "", "none"), 0.9)
    classifier = M.build_classifier(backbone, M.Head.create(len(CLASSES), 0.2, 0.0), size)
    features = M.build_feature_model(backbone, size)
    run = Run(work / f"run{size}", TrainConfig(image_size=size, alpha=alpha), list(CLASSES),
              _model=classifier)
    feature_folder = work / f"features-runtime{size}"

    started = time.perf_counter()
    fast_classifier = runtime.forward_for(classifier, runtime.run_folder(run), size=size)
    convert_classifier = time.perf_counter() - started
    started = time.perf_counter()
    fast_features = runtime.forward_for(features, feature_folder)
    convert_features = time.perf_counter() - started
    assert fast_classifier.runtime != "keras" and fast_features.runtime != "keras"
    keras_forward = M.compiled_forward(classifier)

    def to_csv(paths):
        rows = predict_files(run, paths, batch_size=BATCH)
        with open(work / "predictions.csv", "w", newline="", encoding="utf-8") as file:
            write_csv(rows, file, 3)
        assert not any(row["error"] for row in rows)

    rounds_made = []

    def to_features(paths):
        cache = FeatureCache(Path(tempfile.mkdtemp(dir=work)), "bench")  # cold every time
        hashes = [f"{i:040x}" for i in range(len(paths))]
        vectors, ok, _ = compute_features(features, paths, hashes,
                                          size, cache, lambda e: None, lambda: False, BATCH,
                                          runtime_folder=feature_folder)
        assert ok.all()

    def csv_no_prefetch(paths):
        from mbv2gui.core.training import pipeline

        pipeline.PREFETCH, kept = 0, pipeline.PREFETCH
        try:
            to_csv(paths)
        finally:
            pipeline.PREFETCH = kept

    def keras_csv(paths):
        with keras_only():
            to_csv(paths)

    def keras_features(paths):
        with keras_only():
            to_features(paths)

    memory = {"fast_forward_in_memory": in_memory(fast_classifier, size, count),
              "fast_features_forward_in_memory": in_memory(fast_features, size, count),
              "keras_forward_in_memory": in_memory(keras_forward, size, count)}
    files = {"files_to_csv_fast": to_csv, "files_to_csv_keras": keras_csv,
             "files_to_csv_fast_no_prefetch": csv_no_prefetch,
             "files_to_features_fast": to_features, "files_to_features_keras": keras_features}
    to_csv(paths), keras_csv(paths)  # warm both paths (file cache, traces) outside the timings
    start_up = {}
    for _ in range(rounds):  # interleaved: the machine is shared, a slow moment hits all
        made = {name: count / seconds(job) for name, job in memory.items()}
        for name, job in files.items():
            made[name], start_up[name] = steady_rate(job, paths)
        rounds_made.append(made)
    def ratio(a, b, clock):  # the median over rounds of each round's own ratio
        return round(float(np.median([r[a][clock] / r[b][clock] for r in rounds_made])), 3)

    pairs = {"csv_vs_fast_bare_forward": ("files_to_csv_fast", "fast_forward_in_memory"),
             "features_vs_fast_bare_forward": ("files_to_features_fast",
                                               "fast_features_forward_in_memory"),
             "csv_speedup_vs_keras_path": ("files_to_csv_fast", "files_to_csv_keras"),
             "features_speedup_vs_keras_path": ("files_to_features_fast",
                                                "files_to_features_keras"),
             "bare_forward_fast_vs_keras": ("fast_forward_in_memory", "keras_forward_in_memory"),
             "csv_prefetch_vs_no_prefetch": ("files_to_csv_fast",
                                             "files_to_csv_fast_no_prefetch")}
    return {
        "image_size": size, "alpha": alpha, "images": count, "rounds": rounds,
        "fast_runtime": fast_classifier.runtime,
        "jpeg": "cifar10-5k 32x32" if size <= 96 and CIFAR.is_dir() else "generated 320x320",
        "images_per_wall_second_median": {
            k: round(float(np.median([r[k][0] for r in rounds_made])), 1) for k in rounds_made[0]},
        "images_per_cpu_second_median": {
            k: round(float(np.median([r[k][1] for r in rounds_made])), 1) for k in rounds_made[0]},
        "start_up_seconds_last_round": {k: round(v, 2) for k, v in start_up.items()},
        "ratios_wall": {name: ratio(a, b, 0) for name, (a, b) in pairs.items()},
        "ratios_cpu": {name: ratio(a, b, 1) for name, (a, b) in pairs.items()},
        "conversion_seconds": {"classifier": round(convert_classifier, 2),
                               "features": round(convert_features, 2)},
        "check": {k: fast_classifier.check.get(k) for k in ("max_difference", "top1_agreement")},
        "target_ratio": 0.8}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[96, 224])
    parser.add_argument("--images", type=int, nargs="+", default=[1024, 192])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    alphas = {96: 0.35, 224: 1.0}
    with tempfile.TemporaryDirectory() as folder:
        results = [measure(size, alphas.get(size, 0.35), count, args.rounds, Path(folder))
                   for size, count in zip(args.sizes, args.images)]
    print(json.dumps({"bench": "runtime", "cpu_count": os.cpu_count(), "batch_size": BATCH,
                      "results": results}, indent=1))


if __name__ == "__main__":
    main()
