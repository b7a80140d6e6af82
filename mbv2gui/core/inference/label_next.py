"""Label next: the unlabeled images in the order that teaches the model most per label.

Two ideas, mixed:
  - uncertainty: an image the model is unsure about (a small margin between its two likeliest
    classes) is worth more than one it already gets right;
  - diversity: fifty copies of one confusing picture teach what one of them does, so the first
    `batch` places are filled by k-center greedy, weighted by uncertainty: each pick is the
    candidate whose uncertainty times its distance to everything labeled or already picked is
    largest (Sener & Savarese's core-set idea, with the uncertainty weight of BADGE-style
    mixes). After the batch the rest follows by uncertainty alone: the queue is recomputed after
    each retraining anyway, and k-center over 50,000 images would cost more than it gives.

`label_next_order(probabilities, features, labeled_features)` is the pure ranking;
`rank_unlabeled(project_path, run_dir, report, should_stop)` is the job (engine process).
"""

from __future__ import annotations

import numpy as np

from mbv2gui.core.errors import UserError
from mbv2gui.core.jobs import ignore_events, message, never_stop

BATCH = 50  # places filled with diversity in mind: about what a person labels between retrains
CANDIDATES = 10  # the k-center step looks at the BATCH * CANDIDATES most uncertain images


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


def _unit(x: np.ndarray, mean: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32) - mean
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _min_distance(points: np.ndarray, to: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """Each point's distance to the nearest of `to` (unit rows: distance² = 2 - 2 cos)."""
    best = np.full(len(points), np.inf, dtype=np.float32)
    for start in range(0, len(to), chunk):
        cos = points @ to[start:start + chunk].T
        best = np.minimum(best, np.sqrt(np.maximum(2 - 2 * cos.max(axis=1), 0)))
    return best


def label_next_order(probabilities: np.ndarray, features: np.ndarray,
                     labeled_features: np.ndarray | None = None, batch: int = BATCH,
                     kind: str = "margin") -> list[int]:
    """Row indices of the unlabeled images, the one to label first first (see the module)."""
    n = len(probabilities)
    if n == 0:
        return []
    scores = uncertainty(probabilities, kind)
    by_uncertainty = np.argsort(-scores, kind="stable")
    pool = by_uncertainty[:min(n, batch * CANDIDATES)]
    labeled = np.zeros((0, features.shape[1])) if labeled_features is None else labeled_features
    mean = np.concatenate([features, labeled]).mean(axis=0)
    x = _unit(features[pool], mean)
    distance = _min_distance(x, _unit(labeled, mean)) if len(labeled) else np.full(len(pool), 2.0)
    # Uncertainty still counts when the model is sure of everything (all scores 0).
    weight = scores[pool] + 1e-6
    chosen: list[int] = []
    for _ in range(min(batch, len(pool))):
        pick = int(np.argmax(weight * distance))
        chosen.append(pick)
        distance = np.minimum(distance, np.sqrt(np.maximum(2 - 2 * (x @ x[pick]), 0)))
        distance[pick] = -1.0  # never again
    first = [int(pool[i]) for i in chosen]
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
    unlabeled = project_vectors(project_path, run_dir, report, should_stop, which="unlabeled")
    if not unlabeled.ids:
        report(message("Every image has a label.", "info"))
        return {"run_id": run_id, "order": [], "uncertainty": {}}
    labeled = project_vectors(project_path, run_dir, report, should_stop, which="labeled")
    order = label_next_order(unlabeled.probabilities, unlabeled.vectors, labeled.vectors)
    scores = uncertainty(unlabeled.probabilities)
    return {"run_id": run_id, "order": [unlabeled.ids[i] for i in order],
            "uncertainty": {unlabeled.ids[i]: float(scores[i]) for i in range(len(scores))}}
