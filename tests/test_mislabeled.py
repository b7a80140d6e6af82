"""Likely mislabeled images, tested honestly: flip the labels of a known set of generated
images, run the real pipeline (a tiny run trained on the flipped labels, its backbone's
features, k-fold heads) and check that the flipped images are the ones ranked on top.

`tiny_trained_project` is shared with the other evaluation tests: training is the slow part,
so the session trains one tiny run and each test works on its own copy of the project."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from mbv2gui.core.errors import JobCancelled, UserError
from mbv2gui.core.jobs import ignore_events, never_stop
from mbv2gui.core.inference.mislabeled import (find_likely_mislabeled, out_of_fold_probabilities,
                                     rank_label_issues)

COLORS = {"blue": (40, 60, 220), "green": (40, 180, 60), "red": (220, 40, 40)}
PER_CLASS = 12
FLIPS = {("red", 0): "green", ("red", 1): "blue", ("green", 2): "red", ("blue", 3): "green"}
_shared: dict = {}


def write_class_folders(root, per_class=PER_CLASS, size=(40, 40), seed=0):
    """root/<color>/<color><i>.png: noisy solid colors, each image distinct."""
    rng = np.random.default_rng(seed)
    for name, color in COLORS.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = np.clip(np.array(color) + rng.normal(0, 20, (*size, 3)), 0, 255)
            Image.fromarray(pixels.astype(np.uint8)).save(root / name / f"{name}{i}.png")
    return root


def random_backbone_weights(path, image_size=32, alpha=0.35):
    """A MobileNetV2 weights file from a random init, BatchNorm statistics calibrated on flat
    colors (else the pooled features are ~1e-12). Training "from pretrained weights" then takes
    the engine's fast path (features once, a head on them), and random conv features of colored
    images still tell the colors apart."""
    from mbv2gui.core.training.tfsetup import keras

    k = keras()
    k.utils.set_random_seed(0)
    backbone = k.applications.MobileNetV2(input_shape=(image_size, image_size, 3), alpha=alpha,
                                          include_top=False, weights=None)
    for layer in backbone.layers:
        if isinstance(layer, k.layers.BatchNormalization):
            layer.momentum = 0.0  # one forward pass sets the statistics
    colors = np.random.default_rng(0).uniform(-1, 1, (64, 1, 1, 3)).astype("float32")
    backbone(np.broadcast_to(colors, (64, image_size, image_size, 3)), training=True)
    backbone.save_weights(path)
    return str(path)


def tiny_trained_project(tmp_path_factory, copy_to):
    """(project file copy, run folder, {image id: true class}, images folder). The run is
    trained by the real engine once per session, with FLIPS applied: the model learns from the
    wrong labels, as it would in real life."""
    from mbv2gui.core.files.importer import import_paths
    from mbv2gui.core.store.project import Project
    from mbv2gui.core.training.config import TrainConfig
    from mbv2gui.core.training.train import train

    if not _shared:
        root = tmp_path_factory.mktemp("tiny_run")
        folder = write_class_folders(root / "photos")
        project = Project.create(root / "tiny.mbv2")
        import_paths(project.path, folder, ignore_events, never_stop)
        flipped = {}
        for image in project.images():
            name = image.path.rsplit("/", 1)[-1][:-4]
            label, index = name.rstrip("0123456789"), int(name.lstrip("abcdefghijklmnopqrstuvwxyz"))
            if (label, index) in FLIPS:
                flipped[image.id] = label
                project.set_labels({image.id: project.class_by_name(FLIPS[label, index]).id})
        weights = random_backbone_weights(root / "random.weights.h5")
        config = TrainConfig(image_size=32, alpha=0.35, weights=weights, epochs=10,
                             fine_tune_epochs=0, batch_size=16, val_split=0.25, seed=0)
        run = train(project, config, ignore_events, never_stop)
        project.close()
        _shared.update(project=root / "tiny.mbv2", run_dir=str(run.run_dir), flipped=flipped,
                       folder=folder)
    target = copy_to / "copy.mbv2"
    shutil.copy(_shared["project"], target)
    return target, _shared["run_dir"], _shared["flipped"], _shared["folder"]


# ------------------------------------------------------------------ the numpy part, exactly
def test_out_of_fold_ranking_finds_flips_in_clean_features():
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(3), 20)
    x = rng.normal(0, 1, (3, 64))[y] * 3 + rng.normal(0, 1, (60, 64))
    flipped = np.array([3, 25, 47])
    noisy = y.copy()
    noisy[flipped] = (y[flipped] + 1) % 3
    probabilities = out_of_fold_probabilities(x, noisy, 3, folds=5)
    issues = rank_label_issues(probabilities, noisy)
    assert sorted(i for i, _ in issues[:3]) == flipped.tolist()
    assert all(k == y[i] for i, k in issues[:3])  # the suggestion is the true class


def test_cancel_stops_the_head_fit():
    x, y = np.zeros((20, 4)), np.repeat([0, 1], 10)
    with pytest.raises(JobCancelled):
        out_of_fold_probabilities(x, y, 2, should_stop=lambda: True)


# ------------------------------------------------------------------ the real pipeline
@pytest.mark.slow
def test_flipped_labels_rank_on_top(tmp_path_factory, tmp_path):
    pytest.importorskip("mbv2gui.core.training.train")
    project_file, run_dir, flipped, _ = tiny_trained_project(tmp_path_factory, tmp_path)
    events = []
    result = find_likely_mislabeled(project_file, run_dir, events.append, never_stop)
    assert not result.too_weak and result.images == 36
    suspects = result.suspects
    top = [s.image_id for s in suspects[:2 * len(flipped)]]
    found = [i for i in flipped if i in top]
    # Most flipped images rank among the first 2×(number flipped), out of 36 images, and the
    # list is cut near the estimated number of wrong labels, not a third of the set.
    assert len(found) >= 3, (top, flipped)
    assert len(suspects) <= 2 * len(flipped)
    assert f"{len(suspects)} of 36 images may be mislabeled" in result.sentence()
    for s in suspects:
        if s.image_id in flipped:
            assert s.given != flipped[s.image_id]
    scores = [s.score for s in suspects]
    assert scores == sorted(scores, reverse=True)
    assert any(e["type"] == "progress" for e in events)


def test_too_few_classes_is_a_sentence(tmp_path):
    from mbv2gui.core.store.project import NewImage, Project

    project = Project.create(tmp_path / "one.mbv2")
    project.add_images([NewImage(str(tmp_path / f"{i}.png"), 1, 0.0, f"h{i}", 1, 1, label="a")
                        for i in range(3)])
    with pytest.raises(UserError, match="at least two classes"):
        find_likely_mislabeled(project.path, tmp_path / "no-run", ignore_events, never_stop)
    project.close()
