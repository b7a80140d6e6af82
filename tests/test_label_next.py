"""Label next: on a generated set where it is known which images the model is unsure about,
those come first, and the first batch is not one confusing picture many times over."""

from __future__ import annotations

import numpy as np

from mbv2gui.core.inference.label_next import label_next_order, uncertainty


def softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def generated_pool(seed=0):
    """Two classes along one feature direction: 60 images far from the boundary (sure), 20
    near it (unsure, known), spread along a second direction; probabilities from a logistic
    model of the first feature, as a trained head would give."""
    rng = np.random.default_rng(seed)
    sure = np.concatenate([rng.uniform(2, 4, 30), rng.uniform(-4, -2, 30)])
    unsure = rng.uniform(-0.3, 0.3, 20)
    position = np.concatenate([sure, unsure])
    spread = rng.uniform(-5, 5, len(position))
    features = np.column_stack([position, spread, rng.normal(0, 0.1, (len(position), 6))])
    probabilities = softmax(np.column_stack([position, -position]) * 2)
    return features.astype(np.float32), probabilities, set(range(60, 80))


def test_least_sure_images_come_first():
    features, probabilities, unsure = generated_pool()
    # A batch of 5: its candidates (the 15 least sure) lie among the 20 unsure images. (The
    # clusters are made of 3 x batch candidates, so a batch of 10 would also draw on 10 sure
    # images, for diversity, by design.)
    order = label_next_order(probabilities, features, batch=5)
    assert sorted(order) == list(range(80))
    assert set(order[:20]) == unsure
    # Uncertainty alone gives the same first twenty; the batch only reorders within them.
    by_margin = np.argsort(-uncertainty(probabilities))[:20]
    assert set(by_margin) == unsure


def test_first_batch_is_diverse_not_one_confusing_picture_many_times():
    features, probabilities, unsure = generated_pool()
    # Ten copies of the single most confusing picture join the pool.
    worst = max(unsure, key=lambda i: uncertainty(probabilities)[i])
    features = np.concatenate([features, np.repeat(features[[worst]], 10, axis=0)])
    probabilities = np.concatenate([probabilities, np.repeat(probabilities[[worst]], 10, axis=0)])
    copies = set(range(80, 90)) | {worst}
    by_margin = list(np.argsort(-uncertainty(probabilities), kind="stable"))
    assert len(copies & set(by_margin[:10])) >= 10  # uncertainty alone: the copies first
    order = label_next_order(probabilities, features, batch=10)
    assert len(copies & set(order[:10])) == 1  # with diversity: one of them
    assert set(order[:10]) <= unsure | copies  # and still only unsure images


def test_entropy_and_margin_agree_on_sure_and_unsure():
    p = np.array([[0.98, 0.01, 0.01], [0.34, 0.33, 0.33], [0.5, 0.5, 0.0]])
    for kind in ("margin", "entropy"):
        u = uncertainty(p, kind)
        assert u[0] < 0.2 and u[1] > 0.9 and u[2] > u[0]
