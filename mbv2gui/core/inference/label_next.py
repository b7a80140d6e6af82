"""Label next: the unlabeled images in the order that teaches the model most per label.

Two ideas, mixed:
  - uncertainty: an image the model is unsure about (a small margin between its two likeliest
    classes) is worth more than one it already gets right;
  - diversity: fifty copies of one confusing picture teach what one of them does. The first
    `batch` places are filled the way Cluster-Margin does it (Citovsky et al., 2021): the
    `batch * CANDIDATES` most uncertain images are grouped into `batch` clusters of similar
    images (k-means on their features), and each cluster gives its most uncertain image.
    After the batch the rest follows by uncertainty alone: the queue is recomputed after each
    retraining anyway.
  A first version used k-center greedy weighted by uncertainty (the farthest uncertain image
  from everything labeled); on CIFAR photos it picked outliers and needed more labels than
  random order (bench/bench_label_next.py, quoted in the module's commit).

`label_next_order(probabilities, features)` is the pure ranking;
`rank_unlabeled(project_path, run_dir, report, should_stop)` is the job (engine process).
"""

from __future__ import annotations

import numpy as np

from mbv2gui.core.errors import UserError
from mbv2gui.core.jobs import ignore_events, message, never_stop

BATCH = 50  # places filled with diversity in mind: about what a person labels between retrains
CANDIDATES = 3  # the clusters are made of the BATCH * CANDIDATES most uncertain images


def uncertainty(probabilities: np.ndarray, kind: str = "margin") -> np.ndarray:
    """How unsure the model is about each row, 0 (sure) to 1 (a coin toss).
    "margin": 1 - (p1 - p2) between the two likeliest classes; "entropy": normalised entropy."""
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2:
        return np.zeros(len(p))
    if kind == "entropy":
        return -(p * np.log(np.clip(p, 1e-12, 1))).sum(axis=1) / np.log(p.shape[1])
    top2 = np.sort(p, axis=1)[:, -2:]
    return 1.0 - (top2[:, 1] - top2[:, 0])


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    x = x - x.mean(axis=0)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def kmeans(x: np.ndarray, k: int, iterations: int = 15, seed: int = 0) -> np.ndarray:
    """A cluster number per row: k-means++ seeding, then Lloyd's iterations (cosine on unit
    rows). Deterministic for a seed."""
    rng = np.random.default_rng(seed)
    n = len(x)
    centres = [int(rng.integers(n))]
    distance = np.maximum(2 - 2 * x @ x[centres[0]], 0)
    for _ in range(1, k):
        total = distance.sum()
        pick = int(rng.choice(n, p=distance / total)) if total > 0 else int(rng.integers(n))
        centres.append(pick)
        distance = np.minimum(distance, np.maximum(2 - 2 * x @ x[pick], 0))
    c = x[centres].copy()
    for _ in range(iterations):
        assignment = np.argmax(x @ c.T, axis=1)
        for j in range(k):
            members = x[assignment == j]
            if len(members):
                c[j] = members.mean(axis=0)
    return np.argmax(x @ c.T, axis=1)


def label_next_order(probabilities: np.ndarray, features: np.ndarray, batch: int = BATCH,
                     kind: str = "margin") -> list[int]:
    """Row indices of the unlabeled images, the one to label first first (see the module)."""
    n = len(probabilities)
    if n == 0:
        return []
    scores = uncertainty(probabilities, kind)
    by_uncertainty = np.argsort(-scores, kind="stable")
    pool = by_uncertainty[:min(n, batch * CANDIDATES)]
    clusters = kmeans(_unit(features[pool]), min(batch, len(pool)))
    first = []
    for cluster in np.unique(clusters):
        members = pool[clusters == cluster]
        first.append(int(members[np.argmax(scores[members])]))
    first.sort(key=lambda i: -scores[i])
    taken = set(first)
    return first + [int(i) for i in by_uncertainty if int(i) not in taken]


def rank_unlabeled(project_path, run_dir, report=ignore_events, should_stop=never_stop) -> dict:
    """A job: {"run_id", "order": unlabeled image ids, the one to label first first,
    "uncertainty": {image id: 0..1}}. Needs a run (its model says what it is unsure of)."""
    from mbv2gui.core.inference.image_vectors import project_vectors
    from mbv2gui.core.runs import Run

    if not run_dir:
        raise UserError("“Label next” needs a trained model: train once (pretrained weights "
                        "make it take seconds), then the order shows what to label first.")
    run_id = Run.load(run_dir).run_id
    found = project_vectors(project_path, run_dir, report, should_stop)
    unlabeled = np.flatnonzero(~found.labeled)
    if not len(unlabeled):
        report(message("Every image has a label.", "info"))
        return {"run_id": run_id, "order": [], "uncertainty": {}}
    probabilities = found.probabilities[unlabeled]
    order = label_next_order(probabilities, found.vectors[unlabeled])
    scores = uncertainty(probabilities)
    ids = [found.ids[i] for i in unlabeled]
    return {"run_id": run_id, "order": [ids[i] for i in order],
            "uncertainty": {ids[i]: float(scores[i]) for i in range(len(ids))}}
