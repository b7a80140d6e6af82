"""A 2-D map of the images: similar images land close together, so a cluster can be seen,
lassoed and labeled or excluded in one step.

numpy only (no projection library is installed, and none earns its weight for this): PCA to a
few dozen dimensions, each image's nearest neighbours there, then a small neighbour-preserving
layout in the spirit of UMAP's: neighbours pull together, random pairs push apart, starting
from the first two principal components so the picture is stable from one run to the next.
Measured by bench/bench_data_map.py; the window runs it as a job, never on its own thread.

`points_inside(points, polygon)` is the lasso's rule, here so the test and the widget agree.
"""

from __future__ import annotations

import numpy as np

from mbv2gui.core.errors import JobCancelled
from mbv2gui.core.jobs import ignore_events, never_stop, progress

PCA_DIMENSIONS = 32
NEIGHBOURS = 10
EPOCHS = 120
NEGATIVES = 3
# UMAP's curve 1 / (1 + a d^(2b)) for min_dist 0.1, spread 1 (its own fitted constants).
CURVE_A, CURVE_B = 1.577, 0.895


def principal_axes(x: np.ndarray, dimensions: int, seed: int = 0) -> np.ndarray:
    """(d, dimensions): the rows' top principal directions, found by a randomized range finder
    (Halko et al.): a few products with a thin random matrix instead of a full SVD, which took
    16 s for 5,000 x 1,280 on this machine."""
    x = np.asarray(x, dtype=np.float32)
    x = x - x.mean(axis=0)
    dimensions = min(dimensions, *x.shape)
    width = min(dimensions + 10, *x.shape)
    basis = np.random.default_rng(seed).normal(size=(x.shape[1], width)).astype(np.float32)
    for _ in range(3):  # power iterations sharpen the top directions
        basis, _ = np.linalg.qr(x.T @ (x @ basis))
    _, _, vt = np.linalg.svd(x @ basis, full_matrices=False)
    return basis @ vt[:dimensions].T


def pca(x: np.ndarray, dimensions: int) -> np.ndarray:
    """The centred rows projected on their top principal directions."""
    x = np.asarray(x, dtype=np.float32)
    return (x - x.mean(axis=0)) @ principal_axes(x, dimensions)


def nearest_neighbours(x: np.ndarray, k: int, should_stop=never_stop, report=ignore_events,
                       chunk: int = 1024) -> np.ndarray:
    """(n, k) indices of each row's k nearest other rows (Euclidean), by blocks."""
    n = len(x)
    k = min(k, n - 1)
    squared = (x * x).sum(axis=1)
    result = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, chunk):
        if should_stop():
            raise JobCancelled()
        report(progress(start, n, "Finding each image's neighbours"))
        block = x[start:start + chunk]
        distance = squared[start:start + chunk, None] - 2 * block @ x.T + squared[None, :]
        rows = np.arange(len(block))
        distance[rows, start + rows] = np.inf
        near = np.argpartition(distance, k - 1, axis=1)[:, :k]
        result[start:start + chunk] = near
    return result


def _scatter_add(target: np.ndarray, index: np.ndarray, values: np.ndarray) -> None:
    n = len(target)
    for axis in range(target.shape[1]):  # bincount is ~10x faster than np.add.at
        target[:, axis] += np.bincount(index, values[:, axis], minlength=n)


def layout(x: np.ndarray, neighbours: np.ndarray, epochs: int = EPOCHS, seed: int = 0,
           should_stop=never_stop, report=ignore_events) -> np.ndarray:
    """(n, 2) positions: neighbour pairs attract, random pairs repel (UMAP's forces, applied
    to all edges at once per epoch, each node's step averaged over its edges)."""
    rng = np.random.default_rng(seed)
    n, k = neighbours.shape
    start = pca(x, 2) if x.shape[1] > 2 else np.asarray(x, np.float32)
    y = (10 * start / max(float(np.abs(start).max()), 1e-12)).astype(np.float64)
    heads = np.repeat(np.arange(n), k)
    tails = neighbours.ravel()
    degree = np.bincount(np.concatenate([heads, tails]), minlength=n)[:, None] + NEGATIVES * k
    a, b = CURVE_A, CURVE_B
    for epoch in range(epochs):
        if epoch % 10 == 0:
            if should_stop():
                raise JobCancelled()
            report(progress(epoch, epochs, "Drawing the map"))
        rate = 4.0 * (1.0 - epoch / epochs)
        step = np.zeros_like(y)
        d = y[heads] - y[tails]
        d2 = (d * d).sum(axis=1, keepdims=True)
        pull = -2 * a * b * np.power(d2 + 1e-9, b - 1) / (1 + a * np.power(d2, b))
        force = np.clip(pull * d, -4, 4)
        _scatter_add(step, heads, force)
        _scatter_add(step, tails, -force)
        others = rng.integers(0, n, size=len(heads) * NEGATIVES)
        near = np.repeat(heads, NEGATIVES)
        d = y[near] - y[others]
        d2 = (d * d).sum(axis=1, keepdims=True)
        push = 2 * b / ((0.001 + d2) * (1 + a * np.power(d2, b)))
        _scatter_add(step, near, np.clip(push * d, -4, 4))
        y += rate * step / degree * k
    report(progress(epochs, epochs, "Drawing the map"))
    return y.astype(np.float32)


def project_2d(vectors: np.ndarray, should_stop=never_stop, report=ignore_events,
               seed: int = 0) -> np.ndarray:
    """(n, 2) map positions for (n, d) vectors."""
    vectors = np.asarray(vectors, dtype=np.float32)
    n = len(vectors)
    if n < 3:
        return np.column_stack([np.arange(n, dtype=np.float32), np.zeros(n, np.float32)])
    reduced = pca(vectors, min(PCA_DIMENSIONS, vectors.shape[1], n))
    neighbours = nearest_neighbours(reduced, NEIGHBOURS, should_stop, report)
    return layout(reduced, neighbours, seed=seed, should_stop=should_stop, report=report)


def map_job(project_path, run_dir=None, report=ignore_events, should_stop=never_stop) -> dict:
    """A job: {"ids", "xy": (n, 2) array, "source", "class_names", "probabilities": (n,
    classes) array or None} for the project's readable images (predictions need a run)."""
    from mbv2gui.core.inference.image_vectors import project_vectors, unit_rows

    found = project_vectors(project_path, run_dir, report, should_stop)
    xy = project_2d(unit_rows(found.vectors), should_stop, report)
    p = found.probabilities
    return {"ids": found.ids, "xy": xy, "source": found.source,
            "class_names": found.class_names,
            "probabilities": None if p is None else p.astype(np.float32)}


def points_inside(points: np.ndarray, polygon) -> np.ndarray:
    """A mask of the points strictly inside the closed polygon (even-odd rule, ray casting)."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    poly = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    inside = np.zeros(len(points), dtype=bool)
    if len(poly) < 3:
        return inside
    px, py = points[:, 0], points[:, 1]
    for (x1, y1), (x2, y2) in zip(poly, np.roll(poly, -1, axis=0)):
        crosses = (y1 > py) != (y2 > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = x1 + (py - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (px < at)
    return inside
