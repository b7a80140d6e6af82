"""Time the map of the data (core/inference/data_map.py) at 50,000 images, as JSON.

Features are random (1,280 dimensions, like MobileNetV2's pooled features), drawn around ten
cluster centres so the layout has something to keep: the check next to the time is how many of
each point's 10 nearest map neighbours share its cluster (1.0: clusters kept apart).
Usage: python bench/bench_data_map.py [n]
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from mbv2gui.core.inference import data_map


def main(n: int = 50_000) -> dict:
    rng = np.random.default_rng(0)
    clusters = rng.integers(0, 10, n)
    centres = rng.normal(0, 1, (10, 1280)).astype(np.float32)
    features = centres[clusters] + rng.normal(0, 1.5, (n, 1280)).astype(np.float32)
    timings = {}
    start = time.perf_counter()
    reduced = data_map.pca(features, data_map.PCA_DIMENSIONS)
    timings["pca_s"] = time.perf_counter() - start
    start = time.perf_counter()
    neighbours = data_map.nearest_neighbours(reduced, data_map.NEIGHBOURS)
    timings["neighbours_s"] = time.perf_counter() - start
    start = time.perf_counter()
    xy = data_map.layout(reduced, neighbours)
    timings["layout_s"] = time.perf_counter() - start
    sample = rng.choice(n, 2000, replace=False)
    near = data_map.nearest_neighbours(xy.astype(np.float32), 10)[sample]
    kept = float(np.mean(clusters[near] == clusters[sample, None]))
    return {"images": n, **{k: round(v, 2) for k, v in timings.items()},
            "total_s": round(sum(timings.values()), 2),
            "map_neighbours_in_same_cluster": round(kept, 3)}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000), indent=2))
