"""An earlier model as the starting point: a run folder, its model.keras, an exported .keras or
an .h5 weights file is checked when chosen (no TensorFlow) and refused in a sentence when it
cannot work; a run trained on other classes gives its backbone to a new run whose head is
rebuilt for the new classes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers_images import imagenet_style_weights, make_class_tree, random_backbone_weights
from mbv2gui.core.errors import UserError
from mbv2gui.core.training.start_point import check_start_point
from mbv2gui.core.training.weights import describe_weights, imagenet_file_name, resolve_weights

ROOT = Path(__file__).resolve().parents[1]
RUN_ID = "20261206-010600-abcd"  # the run's folder name says when it started
NEW_CLASSES = {"cat": ((200, 200, 40), "circle"), "dog": ((40, 200, 200), "square")}


@pytest.fixture(scope="module")
def earlier_run(tmp_path_factory):
    """A tiny run trained from scratch on red/blue/green, in a project-like runs folder."""
    from mbv2gui.core.training.config import TrainConfig
    from mbv2gui.core.training.train import train

    root = tmp_path_factory.mktemp("earlier")
    make_class_tree(root / "data", per_class=5, size=32)
    train(root / "data", TrainConfig(image_size=32, alpha=0.35, weights="none", epochs=1,
                                     batch_size=8), run_dir=root / "runs" / RUN_ID)
    return root / "runs" / RUN_ID


@pytest.fixture(autouse=True)
def _feature_cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def _classifier(path: Path, alpha: float, size: int, extra_lambda: bool = False) -> Path:
    from mbv2gui.core.training import model as M
    from mbv2gui.core.training.tfsetup import keras
    from mbv2gui.core.training.weights import SCRATCH

    backbone = M.build_backbone(alpha, size, SCRATCH, 0.9)
    model = M.build_classifier(backbone, M.Head.create(2, 0.0, 0.0), size)
    if extra_lambda:
        k = keras()
        model = k.Model(model.input, k.layers.Lambda(lambda x: x * 2.0, name="double")(model.output))
    model.save(path)
    return path


def _backbone_weights(model_path) -> list:
    from mbv2gui.core.training.model import saved_backbone

    return saved_backbone(model_path).get_weights()


def test_a_run_folder_or_its_model_file_is_a_starting_point(earlier_run, tmp_path):
    by_folder = check_start_point(earlier_run, 0.35, 32)
    by_file = resolve_weights(str(earlier_run / "model.keras"), 0.35, 32)  # "Use weights file…"
    assert by_folder == by_file and by_folder.kind == "model" and by_folder.pretrained
    assert by_folder.path == str(earlier_run / "model.keras")
    accuracy = f"{json.loads((earlier_run / 'metrics.json').read_text())['val_accuracy']:.0%}"
    assert by_folder.sentence.startswith(
        f"Starting from the run of 6 Dec 01:06 ({accuracy} validation accuracy)")
    assert by_folder.short == "from the run of 6 Dec 01:06"
    status = describe_weights(str(earlier_run), 0.35, 32)
    assert status.kind == "earlier_model" and status.sentence == by_folder.sentence
    exported = shutil.copy(earlier_run / "model.keras", tmp_path / "mine.keras")
    other = check_start_point(exported, 0.35, 32)
    assert other.sentence.startswith("Starting from the model mine.keras")
    assert other.identity.split("-")[1] == by_folder.identity.split("-")[1]  # same content
    retrained = tmp_path / "again" / "model.keras"
    retrained.parent.mkdir()
    _classifier(retrained, 0.35, 32)
    assert check_start_point(retrained, 0.35, 32).identity != by_folder.identity


def test_h5_weights_files_in_both_layouts_are_accepted(tmp_path):
    legacy, _ = imagenet_style_weights(tmp_path / "legacy.h5", 0.35, 32)
    assert check_start_point(legacy, 0.35, 96).kind == "file"
    keras3 = random_backbone_weights(tmp_path / "k3.weights.h5", 0.35, 32)
    weights = check_start_point(keras3, 0.35, 96)
    assert weights.sentence == "Starting from the weights in k3.weights.h5."


def test_other_alpha_or_size_is_refused_in_words(earlier_run, tmp_path):
    with pytest.raises(UserError) as error:
        check_start_point(earlier_run, 0.35, 96)
    assert error.value.message == ("This model was trained at 32 px with alpha 0.35; your settings "
                                   "are 96 px, alpha 0.35: choose those settings or another model.")
    wide = _classifier(tmp_path / "wide.keras", 0.5, 32)
    with pytest.raises(UserError, match="trained at 32 px with alpha 0.5; your settings are 32 px, "
                                        "alpha 0.35"):
        check_start_point(wide, 0.35, 32)
    with pytest.raises(UserError, match="These weights are made for alpha 0.5; your settings are 32 px"):
        check_start_point(random_backbone_weights(tmp_path / "w.weights.h5", 0.5, 32), 0.35, 32)
    big, _ = imagenet_style_weights(tmp_path / imagenet_file_name(0.35, 224), 0.35, 32)
    with pytest.raises(UserError, match="These weights are made at 224 px with alpha 0.35; your settings are 96 px, alpha 0.35: choose those settings or other weights"):
        check_start_point(big, 0.35, 96)


def test_not_mobilenet_damaged_or_code_is_refused(earlier_run, tmp_path):
    import keras

    small = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="dense")])
    small.save(tmp_path / "small.keras")
    small.save_weights(tmp_path / "small.weights.h5")
    for name in ("small.keras", "small.weights.h5"):
        with pytest.raises(UserError, match=f"{name} is not a MobileNetV2 model or weights file"):
            check_start_point(tmp_path / name, 0.35, 32)
    data = (earlier_run / "model.keras").read_bytes()
    (tmp_path / "cut.keras").write_bytes(data[: len(data) // 2])
    (tmp_path / "page.h5").write_text("<html>not found</html>")
    for name in ("cut.keras", "page.h5"):
        with pytest.raises(UserError, match=f"{name} is damaged or is not a model file"):
            check_start_point(tmp_path / name, 0.35, 32)
    coded = _classifier(tmp_path / "coded.keras", 0.35, 32, extra_lambda=True)
    with pytest.raises(UserError, match="coded.keras contains program code"):
        check_start_point(coded, 0.35, 32)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="The folder empty is not a training run"):
        check_start_point(tmp_path / "empty", 0.35, 32)
    status = describe_weights(str(coded), 0.35, 32)
    assert status.kind == "unusable" and "program code" in status.sentence


def test_new_run_starts_from_the_earlier_backbone_with_a_new_head(earlier_run, tmp_path):
    from mbv2gui.core.training.model import build_backbone
    from mbv2gui.core.training.config import TrainConfig
    from mbv2gui.core.training.train import train

    earlier = _backbone_weights(earlier_run / "model.keras")
    weights = resolve_weights(str(earlier_run), 0.35, 32)
    loaded = build_backbone(0.35, 32, weights, 0.9).get_weights()  # right after loading
    assert len(loaded) == len(earlier) > 200
    for a, b in zip(loaded, earlier):
        np.testing.assert_array_equal(a, b)

    make_class_tree(tmp_path / "pets", NEW_CLASSES, per_class=5, size=32)
    events = []
    run = train(tmp_path / "pets", TrainConfig(image_size=32, alpha=0.35, weights=str(earlier_run),
                                               epochs=2, batch_size=8),
                events.append, run_dir=tmp_path / "second")
    assert [e["phase"] for e in events if e["type"] == "phase"] == ["features", "head"]
    assert run.class_names == ["cat", "dog"]
    model = run.load_model()
    assert model.output_shape == (None, 2)
    for a, b in zip(model.get_layer("backbone").get_weights(), earlier):
        np.testing.assert_array_equal(a, b)  # the head trained on cached features only
    assert run.metrics["pretrained"] and run.metrics["start_point"] == "from the run of 6 Dec 01:06"


def test_fine_tuning_continues_from_the_earlier_backbone(earlier_run, tmp_path):
    from mbv2gui.core.training.config import TrainConfig
    from mbv2gui.core.training.train import train

    earlier = _saved_kernels(earlier_run / "model.keras")
    make_class_tree(tmp_path / "pets", NEW_CLASSES, per_class=5, size=32)
    events = []
    run = train(tmp_path / "pets", TrainConfig(image_size=32, alpha=0.35, weights=str(earlier_run),
                                               epochs=1, fine_tune_epochs=1, fine_tune_blocks=1,
                                               batch_size=8), events.append, run_dir=tmp_path / "ft")
    assert [e["phase"] for e in events if e["type"] == "phase"] == ["features", "head", "fine_tune"]
    assert run.history["phase"] == ["head", "fine_tune"]
    # Blocks below the fine-tuned one keep the earlier run's weights (whether the top block
    # changed depends on whether its epoch beat the head's: the best weights are kept).
    tuned = _saved_kernels(run.model_path)
    np.testing.assert_array_equal(tuned["block_10_project"], earlier["block_10_project"])
    assert run.load_model().output_shape == (None, 2)


def _saved_kernels(model_path) -> dict:
    from mbv2gui.core.training.model import saved_backbone

    backbone = saved_backbone(model_path)
    return {name: np.array(backbone.get_layer(name).kernel) for name in ("block_10_project",)}


def test_command_line_refuses_an_unusable_start_before_any_work(tmp_path):
    make_class_tree(tmp_path / "data", ["red", "blue"], per_class=3, size=16)
    (tmp_path / "bad.keras").write_bytes(b"not a zip")
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, "-m", "mbv2gui", "train", str(tmp_path / "data"),
                           "--out", str(tmp_path / "run"), "--weights", str(tmp_path / "bad.keras")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 2
    assert "bad.keras is damaged or is not a model file" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "run").exists()
