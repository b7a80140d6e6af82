"""Near-duplicates: re-saved, resized, re-encoded or burst-shot copies of one picture.

Exact copies are refused at import by their content hash; these differ by a few bytes or
pixels, so they are found by similarity: the cosine of two images' vectors (the run's backbone
features, or pixel fingerprints before any model exists; core/inference/image_vectors.py).
The job finds every pair above a low floor once (a few nearest neighbours per image); moving
the threshold then only regroups those pairs (`group_pairs`), instantly, in the window.

A near-duplicate pair on both sides of the train/validation split makes the validation accuracy
a lie (the model is checked on a picture it learned); the groups are stored in the project
(core/store/near_duplicates.py) and the automatic split keeps each on one side.
"""

from __future__ import annotations

import numpy as np

from mbv2gui.core.errors import JobCancelled
from mbv2gui.core.jobs import ignore_events, never_stop, progress

# Similarity thresholds a person starts from, per kind of vector. Pixel fingerprints of generated
# test photos (tests/test_near_duplicates.py): resized or re-encoded copies 0.99+, a 4% crop
# 0.965, different photos below 0.80. Backbone features move less with small edits but also sit closer
# for merely similar photos, hence a higher start.
DEFAULT_THRESHOLD = {"pixels": 0.93, "features": 0.97}
FLOOR = 0.80  # pairs below this are never kept: the slider goes no lower
NEIGHBOURS = 8  # pairs kept per image: a burst of more shots is still joined through its chain
REDUCED_DIMENSIONS = 128  # cosines computed in a PCA space this wide: 10x faster at 50,000


def _reduced(unit: np.ndarray) -> np.ndarray:
    """Unit rows projected on their top principal directions and re-normalised: cosines above
    the floor barely move, and the all-pairs product costs a tenth."""
    from mbv2gui.core.inference.data_map import principal_axes

    if unit.shape[1] <= 4 * REDUCED_DIMENSIONS or len(unit) <= REDUCED_DIMENSIONS:
        return unit  # pixel fingerprints are small already
    x = unit @ principal_axes(unit, REDUCED_DIMENSIONS)  # not re-centred: cosines are kept
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def similar_pairs(unit: np.ndarray, floor: float = FLOOR, neighbours: int = NEIGHBOURS,
                  should_stop=never_stop, report=ignore_events, chunk: int = 512):
    """(i, j, cosine) with i < j for each row's most similar rows at or above `floor`.
    `unit`: rows of unit length (image_vectors.unit_rows)."""
    x = _reduced(np.asarray(unit, dtype=np.float32))
    n = len(x)
    k = min(neighbours, n - 1)
    found: dict[tuple[int, int], float] = {}
    for start in range(0, n, chunk):
        if should_stop():
            raise JobCancelled()
        report(progress(start, n, "Looking for near-duplicates"))
        cos = x[start:start + chunk] @ x.T
        rows = np.arange(len(cos))
        cos[rows, start + rows] = -1.0  # not itself
        if k <= 0:
            break
        best = np.argpartition(-cos, k - 1, axis=1)[:, :k]
        for r, columns in enumerate(best):
            for c in columns:
                value = float(cos[r, c])
                if value >= floor:
                    i, j = sorted((start + r, int(c)))
                    found[(i, j)] = max(found.get((i, j), -1.0), value)
    report(progress(n, n, "Looking for near-duplicates"))
    return [(i, j, s) for (i, j), s in sorted(found.items())]


def group_pairs(n: int, pairs, threshold: float) -> list[list[int]]:
    """Groups (lists of indices, each of two or more) joined by pairs at or above `threshold`;
    largest group first, then by first member."""
    parent = list(range(n))

    def root(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for i, j, similarity in pairs:
        if similarity >= threshold:
            parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    found = [g for g in groups.values() if len(g) > 1]
    return sorted(found, key=lambda g: (-len(g), g[0]))


def find_near_duplicates(project_path, run_dir=None, report=ignore_events,
                         should_stop=never_stop) -> dict:
    """A job: {"ids": image ids, "pairs": [(i, j, cosine)] as indices into ids, "source":
    "features" or "pixels", "threshold": where to start}. Features only when `run_dir` is
    given: the review page compares pixels (see PIXELS_BY_DEFAULT)."""
    from mbv2gui.core.inference.image_vectors import project_vectors, unit_rows

    found = project_vectors(project_path, run_dir, report, should_stop)
    # Fingerprints are centred per image already; features are centred on the project's mean.
    unit = unit_rows(found.vectors, centre=found.source == "features")
    pairs = similar_pairs(unit, should_stop=should_stop, report=report) if len(unit) > 1 else []
    return {"ids": found.ids, "pairs": pairs, "source": found.source,
            "threshold": DEFAULT_THRESHOLD[found.source]}


# Why the review page compares pixels even when a run exists: a run's features are only as
# invariant as its backbone. Measured on sign-digits-mini with a run on a random-init backbone
# (BatchNorm calibrated; ImageNet weights are not available offline): a JPEG-quality-35 copy
# had a feature cosine of 0.34 with its original (the median image's nearest other image:
# 0.39), so no threshold separates copies; the pixel fingerprints of the same copies scored
# 0.96-0.999 (re-encoded, resized, 3% cropped). Pixels miss burst shots from a moved camera,
# which good ImageNet features would catch; a run with pretrained weights could add them.
PIXELS_BY_DEFAULT = True
