"""Size, speed and agreement of every export format, on this machine's CPU, as one JSON.

    python bench/bench_export.py [--work DIR] [--out results.json] [--threads 2]

Trains a 96 px, alpha 0.35 run from scratch on generated colour images (no ImageNet weights
offline here, so agreement is measured on a small synthetic model), exports it to every format
with the app's own export job (which verifies it), then times each with its own runtime:
single-image latency (median of repeated batch-1 calls after warm-up) and batch throughput
(batches of 32). Ratios are against the Keras model run the way the app runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def timed(run, batch: np.ndarray, repeats: int) -> list[float]:
    run(batch)  # warm-up: tracing, buffer planning
    run(batch)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(batch)
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", default=None)
    parser.add_argument("--out", default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--per-class", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    from mbv2gui.core.export import FORMATS, MODEL_FILES, export_run
    from mbv2gui.core.export.verify import load_runner
    from mbv2gui.core.files.sample_images import write_color_classes
    from mbv2gui.core.training.config import TrainConfig
    from mbv2gui.core.training.train import train

    work = Path(args.work or tempfile.mkdtemp(prefix="bench-export-"))
    folder = work / "data"
    run_dir = work / "run"
    if not (run_dir / "model.keras").exists():
        write_color_classes(folder, ("red", "blue", "green"), per_class=args.per_class, size=96)
        config = TrainConfig(image_size=96, alpha=0.35, weights="none", epochs=args.epochs,
                             batch_size=16)
        started = time.monotonic()
        train(folder, config, run_dir=run_dir)
        print(f"trained in {time.monotonic() - started:.0f} s", file=sys.stderr)

    rng = np.random.default_rng(0)
    single = rng.uniform(0, 255, (1, 96, 96, 3)).astype(np.float32)
    batch = rng.uniform(0, 255, (32, 96, 96, 3)).astype(np.float32)
    rows = {}
    for fmt in FORMATS:
        out = work / "exports" / fmt
        started = time.monotonic()
        result = export_run(run_dir, fmt, out, project_path=folder)
        export_seconds = time.monotonic() - started
        run = load_runner(fmt, out, threads=args.threads)
        latency = timed(run, single, 50)
        throughput = timed(run, batch, 5)
        rows[fmt] = {
            "file": MODEL_FILES[fmt], "bytes": result["bytes"],
            "latency_ms_median": round(1000 * statistics.median(latency), 2),
            "latency_ms_p90": round(1000 * sorted(latency)[int(0.9 * len(latency))], 2),
            "batch32_images_per_second": round(32 / statistics.median(throughput), 1),
            "top1_agreement": result["agreement"]["top1_agreement"],
            "agreement_images": result["agreement"]["images"],
            "max_probability_difference": round(result["agreement"]
                                                ["max_probability_difference"], 6),
            "runtime": result["agreement"]["runtime"],
            "export_seconds": round(export_seconds, 1),
        }
        print(fmt, rows[fmt], file=sys.stderr)
    keras_row = rows["keras"]
    for row in rows.values():
        row["size_vs_keras"] = round(row["bytes"] / keras_row["bytes"], 3)
        row["latency_speedup_vs_keras"] = round(keras_row["latency_ms_median"]
                                                / row["latency_ms_median"], 2)
        row["throughput_vs_keras"] = round(row["batch32_images_per_second"]
                                           / keras_row["batch32_images_per_second"], 2)
    report = {"model": "MobileNetV2 alpha 0.35, 96 px, 3 classes, trained from scratch "
                       "on generated images",
              "machine": {"cpu_threads_used": args.threads, "cpus": os.cpu_count(),
                          "python": platform.python_version()},
              "formats": rows}
    text = json.dumps(report, indent=1)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
