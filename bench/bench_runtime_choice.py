"""Which runtime is fastest for the app's forward passes on this CPU: ONNX Runtime (tf2onnx) vs
LiteRT (the TFLite float32 export) vs Keras, batches of 32 in memory, the same classifier,
interleaved rounds. Prints JSON (images/s, median over rounds).

    python bench/bench_runtime_choice.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import numpy as np  # noqa: E402

from mbv2gui.core.export import onnx, tflite  # noqa: E402
from mbv2gui.core.training import model as M  # noqa: E402
from mbv2gui.core.training.weights import Weights  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    threads = os.cpu_count()
    results = []
    for size, alpha, count in [(96, 0.35, 512), (224, 1.0, 96)]:
        backbone = M.build_backbone(alpha, size, Weights("none", None, "", "none"), 0.9)
        model = M.build_classifier(backbone, M.Head.create(3, 0.2, 0.0), size)
        folder = Path(tempfile.mkdtemp())
        onnx.convert_to_onnx(model, (None, size, size, 3), folder / "m.onnx")
        run = SimpleNamespace(config=SimpleNamespace(image_size=size))
        tflite.write_tflite(model, run, folder)
        forwards = {"onnxruntime": onnx.runner(folder / "m.onnx", threads)[0],
                    "litert": tflite.runner(next(folder.glob("*.tflite")), threads)[0],
                    "keras": M.compiled_forward(model)}
        batch = np.random.default_rng(0).integers(0, 256, (32, size, size, 3)).astype(np.uint8)
        for forward in forwards.values():
            forward(batch)
        rates = {name: [] for name in forwards}
        for _ in range(args.rounds):
            for name, forward in forwards.items():
                started = time.perf_counter()
                for _ in range(count // 32):
                    forward(batch)
                rates[name].append(count / (time.perf_counter() - started))
        median = {name: round(float(np.median(r)), 1) for name, r in rates.items()}
        results.append({"image_size": size, "alpha": alpha, "images_per_second": median,
                        "litert_vs_onnxruntime": round(median["litert"] / median["onnxruntime"], 3),
                        "onnxruntime_vs_keras": round(median["onnxruntime"] / median["keras"], 3)})
    print(json.dumps({"bench": "runtime_choice", "threads": threads, "batch": 32,
                      "results": results}, indent=1))


if __name__ == "__main__":
    main()
