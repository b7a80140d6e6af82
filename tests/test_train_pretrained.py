"""The pretrained route with a weights file the test writes: features cached once, the head
trained on them, the top blocks fine-tuned with BatchNorm statistics left untouched, the run
saved and reloaded, and a project's run recorded in its sidecar folder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers_images import make_class_tree, random_backbone_weights
from mbv2gui.core.errors import JobCancelled
from mbv2gui.core.training.config import TrainConfig
from mbv2gui.core.training.train import train


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("pretrained")
    make_class_tree(root / "data", per_class=6, size=32)
    weights = random_backbone_weights(root / "backbone.weights.h5", 0.35, 32)
    return root, weights


@pytest.fixture(autouse=True)
def _feature_cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def _config(weights, **changes):
    values = dict(image_size=32, weights=str(weights), epochs=3, batch_size=8)
    values.update(changes)
    return TrainConfig(**values)


def _bn_stats(model):
    from mbv2gui.core.training.model import batchnorm_layers

    return {bn.name: [np.array(bn.moving_mean), np.array(bn.moving_variance)]
            for bn in batchnorm_layers(model)}


def test_head_then_fine_tune_keeps_batchnorm_statistics(setup, tmp_path):
    import keras

    root, weights = setup
    events = []
    run = train(root / "data", _config(weights, fine_tune_epochs=2, fine_tune_blocks=2),
                events.append, lambda: False, run_dir=tmp_path / "run")
    phases = [e["phase"] for e in events if e["type"] == "phase"]
    assert phases[:2] == ["features", "head"] and phases[-1] == "fine_tune"
    epochs = [e for e in events if e["type"] == "epoch"]
    assert [e["phase"] for e in epochs] == ["head"] * 3 + ["fine_tune"] * 2
    assert all(0 <= e["val_accuracy"] <= 1 and e["learning_rate"] >= 0 for e in epochs)
    assert run.history["fine_tune_start_epoch"] == 3
    assert run.history["phase"] == ["head"] * 3 + ["fine_tune"] * 2
    for name in ("model.keras", "labels.txt", "config.json", "history.json", "metrics.json",
                 "predictions.json"):
        assert (tmp_path / "run" / name).is_file()
    assert (tmp_path / "run" / "labels.txt").read_text().split() == ["blue", "green", "red"]
    assert run.metrics["pretrained"] and "backbone.weights.h5" in run.metrics["weights_source"]
    assert not list((tmp_path / "run").glob("*.tmp*"))  # the pixel store is cleaned up

    original = keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35,
                                              include_top=False, weights=None)
    original.load_weights(weights)
    tuned = run.load_model().get_layer("backbone")
    before, after = _bn_stats(original), _bn_stats(tuned)
    assert before.keys() == after.keys() and len(before) > 40
    for name in before:  # keras-team/keras#20285: BN layers frozen, statistics unchanged
        np.testing.assert_array_equal(before[name][0], after[name][0])
        np.testing.assert_array_equal(before[name][1], after[name][1])


def test_fine_tune_step_trains_top_blocks_but_not_batchnorm_statistics(setup):
    """The mechanism the fine_tune phase uses (its freezing and its training step), checked
    step by step, where no best-weights restore could hide a change."""
    from mbv2gui.core.training import model as M
    from mbv2gui.core.training.tfsetup import keras
    from mbv2gui.core.training.weights import Weights

    _, weights = setup
    backbone = M.build_backbone(0.35, 32, Weights("file", str(weights), "", "w"), 0.9)
    classifier = M.build_classifier(backbone, M.Head.create(3, 0.2, 1e-4), 32)
    M.unfreeze_top_blocks(backbone, 2)
    before = _bn_stats(backbone)
    top, low = (np.array(backbone.get_layer(n).kernel) for n in ("block_16_project", "block_10_project"))
    loss, accuracy = M.targets_loss(3, False, 4.0, 0.3)
    step = M.train_step(classifier, keras().optimizers.Adam(1e-2), loss, accuracy)
    rng = np.random.default_rng(0)
    for _ in range(3):
        x = rng.integers(0, 256, (8, 32, 32, 3)).astype(np.uint8)
        step(x, np.eye(3, dtype=np.float32)[rng.integers(0, 3, 8)], np.ones(8, np.float32))
    after = _bn_stats(backbone)
    for name in before:
        np.testing.assert_array_equal(before[name][0], after[name][0])
        np.testing.assert_array_equal(before[name][1], after[name][1])
    assert not np.array_equal(top, backbone.get_layer("block_16_project").kernel)
    np.testing.assert_array_equal(low, backbone.get_layer("block_10_project").kernel)


def test_saved_model_predicts_what_the_engine_reported(setup, tmp_path):
    from mbv2gui.core.inference.predict import predict_files
    from mbv2gui.core.runs import Run

    root, weights = setup
    trained = train(root / "data", _config(weights, epochs=4), run_dir=tmp_path / "run")
    run = Run.load(tmp_path / "run")  # fresh from disk: nothing shared with the engine
    assert run.config == trained.config and run.class_names == ["blue", "green", "red"]
    assert run.predictions and {p["split"] for p in run.predictions} == {"validation"}
    assert len(run.predictions) == sum(run.metrics["counts"]["validation"].values()) == 3
    rows = predict_files(run, [p["path"] for p in run.predictions], top_k=3)
    for row, saved in zip(rows, run.predictions):
        by_label = dict(row["top_k"])
        got = [by_label[name] for name in run.class_names]
        np.testing.assert_allclose(got, saved["probabilities"], atol=1e-4)


def test_features_are_cached_and_reused(setup, tmp_path):
    root, weights = setup
    first, second = [], []
    train(root / "data", _config(weights, epochs=1), first.append, run_dir=tmp_path / "a")
    train(root / "data", _config(weights, epochs=1), second.append, run_dir=tmp_path / "b")
    cached = [e["message"] for e in second if e["type"] == "progress"][0]
    assert "18 of 18 cached" in cached
    assert "0 of 18 cached" in [e["message"] for e in first if e["type"] == "progress"][0]
    assert len(list((tmp_path / "cache").rglob("*.npy"))) == 18


def test_cancel_mid_epoch_keeps_the_best_weights_so_far(setup, tmp_path):
    root, weights = setup
    events, polls = [], []

    def should_stop():
        if any(e["type"] == "epoch" for e in events):
            polls.append(1)  # stop at the second poll of the second epoch: mid-epoch
        return len(polls) >= 2

    run = train(root / "data", _config(weights, epochs=10, batch_size=2), events.append,
                should_stop, run_dir=tmp_path / "run")
    assert run.metrics["stopped_early_by_user"] is True
    assert run.metrics["epochs"] == 1 == len(run.history["epoch"])
    assert (tmp_path / "run" / "model.keras").is_file()
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["stopped_early_by_user"]


def test_cancel_before_any_epoch_raises(setup, tmp_path):
    root, weights = setup
    with pytest.raises(JobCancelled):
        train(root / "data", _config(weights), should_stop=lambda: True, run_dir=tmp_path / "r")


def test_project_run_is_recorded_in_its_sidecar(setup, tmp_path):
    from mbv2gui.core.files.images import content_hash
    from mbv2gui.core.store.project import NewImage, Project
    from mbv2gui.core.runs import Run

    root, weights = setup
    project = Project.create(tmp_path / "p.mbv2")
    files = sorted((root / "data").rglob("*.*"))
    project.add_images([NewImage(str(f), f.stat().st_size, f.stat().st_mtime, content_hash(f),
                                 32, 32, label=f.parent.name) for f in files])
    project.close()
    run = train(project, _config(weights, epochs=2))
    project = Project.open(tmp_path / "p.mbv2")
    try:
        records = project.runs()
        assert [r.id for r in records] == [run.run_id]
        assert records[0].metrics["epochs"] == 2
        assert run.run_dir.parent == project.sidecar / "runs"
        assert list((project.sidecar / "features").rglob("*.npy"))
    finally:
        project.close()
    assert Run.load(run.run_dir).class_names == run.class_names


def test_distillation_from_a_teacher_model(setup, tmp_path):
    from mbv2gui.core.errors import UserError
    from mbv2gui.core.runs import Run

    from mbv2gui.core.training import model as M
    from mbv2gui.core.training.weights import Weights

    root, weights = setup
    # Any saved model with 3 outputs can teach (a bigger, trained one in real use).
    backbone = M.build_backbone(0.35, 32, Weights("file", str(weights), "", "w"), 0.9)
    teacher = tmp_path / "teacher.keras"
    M.build_classifier(backbone, M.Head.create(3, 0.0, 0.0), 32).save(teacher)
    events = []
    plain = train(root / "data", _config(weights, epochs=2), run_dir=tmp_path / "plain")
    student = train(root / "data", _config(weights, epochs=2, teacher_path=teacher),
                    events.append, run_dir=tmp_path / "student")
    assert any(e["type"] == "message" and "teacher" in e["text"] for e in events)
    assert Run.load(student.run_dir).config.teacher_path == str(teacher)
    assert len(student.history["loss"]) == 2 and all(np.isfinite(student.history["loss"]))
    assert student.history["loss"] != plain.history["loss"]  # the teacher's term counted
    make_class_tree(tmp_path / "two", ["red", "blue"], per_class=4, size=32)
    with pytest.raises(UserError, match="teacher model has 3 outputs but there are 2 classes"):
        train(tmp_path / "two", _config(weights, epochs=1, teacher_path=teacher),
              run_dir=tmp_path / "bad")
