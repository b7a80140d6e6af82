"""From scratch (no pretrained weights), the 'auto' fallback, and bad input as sentences."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from helpers_images import make_class_tree
from mbv2gui.core.errors import UserError
from mbv2gui.core.training.config import TrainConfig
from mbv2gui.core.training.train import train


def test_auto_without_imagenet_trains_from_scratch(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "no-keras"))
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path / "no-bundle"), raising=False)
    make_class_tree(tmp_path / "data", ["red", "blue"], per_class=8, size=32)
    (tmp_path / "data" / "red" / "broken.jpg").write_bytes(b"not a jpeg at all")
    events = []
    config = TrainConfig(image_size=32, weights="auto", epochs=2, batch_size=8)
    run = train(tmp_path / "data", config, events.append, run_dir=tmp_path / "run")
    warnings = [e["text"] for e in events if e["type"] == "message" and e["level"] == "warning"]
    assert any("from scratch" in w and "at 32 px" in w for w in warnings)  # no ImageNet at 32
    assert any("broken.jpg" in w and "could not be read" in w for w in warnings)
    assert [e["phase"] for e in events if e["type"] == "epoch"] == ["scratch", "scratch"]
    batches = [e for e in events if e["type"] == "batch"]
    assert batches and {"loss", "accuracy", "learning_rate", "images_per_second",
                        "eta_seconds", "step", "steps"} <= batches[0].keys()
    assert run.metrics["pretrained"] is False and run.metrics["unreadable"] == 1
    assert run.metrics["counts"]["train"] == {"blue": 6, "red": 6}
    assert run.history["fine_tune_start_epoch"] is None
    model = run.load_model()
    momenta = {bn.momentum for bn in model.get_layer("backbone").layers if hasattr(bn, "moving_mean")}
    assert momenta == {0.9}
    probabilities = np.asarray(model(np.zeros((1, 50, 70, 3), np.float32)))
    assert probabilities.shape == (1, 2) and abs(probabilities.sum() - 1) < 1e-5


def _tree(root, counts):
    make_class_tree(root, list(counts), per_class=counts, size=16)
    return root


@pytest.mark.parametrize("counts, words", [
    ({"red": 4}, "at least two classes"),
    ({"red": 4, "blue": 0, "green": 3}, "“blue” has no images"),
    ({"red": 4, "blue": 1, "green": 3}, "“blue” has only 1 image"),
])
def test_bad_folders_are_sentences(tmp_path, counts, words):
    tree = _tree(tmp_path / "data", counts)
    with pytest.raises(UserError) as error:
        train(tree, TrainConfig(image_size=32, weights="none"), run_dir=tmp_path / "run")
    assert words in error.value.message
    assert not (tmp_path / "run").exists()  # refused before anything was written


def test_all_unreadable_is_a_sentence(tmp_path):
    for name in ("a", "b"):
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(3):
            (tmp_path / "data" / name / f"{i}.png").write_bytes(b"garbage" * i)
    with pytest.raises(UserError, match="None of the images could be read"):
        train(tmp_path / "data", TrainConfig(image_size=32, weights="none", epochs=1),
              run_dir=tmp_path / "run")


def test_imagenet_for_an_unsupported_size_is_a_sentence(tmp_path):
    tree = _tree(tmp_path / "data", {"red": 3, "blue": 3})
    with pytest.raises(UserError, match="ImageNet weights exist only for"):
        train(tree, TrainConfig(image_size=40, weights="imagenet"), run_dir=tmp_path / "run")


def test_config_round_trips_through_json():
    import json

    config = TrainConfig(image_size=128, weights="/x/y.h5", epochs=7, augment_zoom=False)
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert TrainConfig.from_dict({"epochs": 3, "unknown_future_field": 1}).epochs == 3


def test_augmentation_varies_per_epoch_repeats_with_the_seed_and_can_be_off(tmp_path):
    from mbv2gui.core.training.pipeline import PixelStore, augmenter, training_batches

    made = make_class_tree(tmp_path / "x", ["red"], per_class=4, size=32)
    store = PixelStore.build([str(p) for p in made["red"]], 32, tmp_path / "s.npy")
    index, y, w = np.arange(4), np.zeros((4, 1), np.float32), np.ones(4, np.float32)

    def epochs(config, count=2):
        batches, steps = training_batches(store, index, y, w, 4, augmenter(config, 0), 0)
        assert steps == 1
        return [np.concatenate([np.asarray(x) for x, _, _ in batches(epoch)])
                for epoch in range(count)]

    first, second = epochs(TrainConfig())
    assert not np.allclose(first, second)  # a new augmentation every epoch
    np.testing.assert_allclose(epochs(TrainConfig(), 1)[0], first)  # same seed, same run
    off = TrainConfig(augment_flip=False, augment_rotation=False, augment_shift=False,
                      augment_zoom=False)
    raw = epochs(off, 1)[0]
    assert augmenter(off, 0) is None
    np.testing.assert_array_equal(np.sort(raw.reshape(4, -1), axis=0),
                                  np.sort(store.pixels[:4].reshape(4, -1).astype(np.float32), axis=0))
    store.close()
    assert not (tmp_path / "s.npy").exists()


def test_each_epoch_gives_every_image_once_with_its_own_target_and_weight(tmp_path):
    """The batches read pixels by the store's index and targets by position: a mix-up would
    train each image on another's label."""
    from mbv2gui.core.training.pipeline import PixelStore, training_batches

    pixels = np.arange(9, dtype=np.uint8)[:, None, None, None] * np.ones((1, 4, 4, 3), np.uint8)
    np.save(tmp_path / "p.npy", pixels)
    store = PixelStore(tmp_path / "p.npy", 4, np.load(tmp_path / "p.npy", mmap_mode="r"),
                       np.ones(9, bool), {})
    indices = np.array([8, 1, 5, 3, 0, 7, 2])  # the training images, in the session's order
    targets = (indices * 10).astype(np.float32)[:, None]
    weights = (indices + 0.5).astype(np.float32)
    batches, steps = training_batches(store, indices, targets, weights, 3, None, seed=0)
    assert steps == 3
    orders = []
    for epoch in range(2):
        seen = []
        for x, y, w in batches(epoch):
            image = np.asarray(x)[:, 0, 0, 0].astype(int)  # each image's pixels are its index
            np.testing.assert_array_equal(y[:, 0], image * 10)
            np.testing.assert_array_equal(w, image + 0.5)
            seen += image.tolist()
        assert sorted(seen) == sorted(indices.tolist())
        orders.append(seen)
    assert orders[0] != orders[1]  # shuffled anew each epoch
