"""The model layout contract, BatchNorm freezing, and lazy TensorFlow (the weights routes are in
test_weights*.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mbv2gui.core.errors import UserError

ROOT = Path(__file__).resolve().parents[1]


def test_importing_the_engine_does_not_import_tensorflow():
    code = ("import json, sys; import mbv2gui.core.training.train, mbv2gui.core.runs, "
            "mbv2gui.core.inference.predict, mbv2gui.core.training.features, mbv2gui.core.training.weights, "
            "mbv2gui.core.training.start_point, mbv2gui.core.training.weights_download, "
            "mbv2gui.core.training.dataset, mbv2gui.core.training.pipeline, mbv2gui.commands.train, "
            "mbv2gui.commands.predict, mbv2gui.commands.progress; "
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('tensorflow', 'keras'))))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_classifier_layout_and_round_trip(tmp_path):
    import keras

    from mbv2gui.core.training import model as M
    from mbv2gui.core.training.weights import Weights

    backbone = M.build_backbone(0.35, 32, Weights("none", None, "", "none"), 0.9)
    classifier = M.build_classifier(backbone, M.Head.create(3, 0.2, 1e-4), 32)
    names = [layer.name for layer in classifier.layers]
    assert names == ["image", "resize", "scale", "backbone", "pool", "dropout", "classifier"]
    assert tuple(classifier.input_shape) == (None, None, None, 3)
    assert isinstance(classifier.get_layer("scale"), keras.layers.Rescaling)
    assert not any("random" in layer.name for layer in M._all_layers(classifier))
    assert {bn.momentum for bn in M.batchnorm_layers(backbone)} == {0.9}
    image = np.random.default_rng(0).integers(0, 256, (2, 45, 37, 3)).astype(np.uint8)
    expected = np.asarray(classifier(image.astype(np.float32)))
    classifier.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")  # no custom objects needed
    np.testing.assert_allclose(np.asarray(loaded(image.astype(np.float32))), expected, atol=1e-5)


def test_fine_tune_freezes_every_batchnorm_and_lower_blocks():
    from mbv2gui.core.training import model as M
    from mbv2gui.core.training.weights import Weights

    backbone = M.build_backbone(0.35, 32, Weights("none", None, "", "none"), 0.9)
    M.unfreeze_top_blocks(backbone, 2)
    assert all(not bn.trainable for bn in M.batchnorm_layers(backbone))
    assert backbone.get_layer("block_16_project").trainable
    assert backbone.get_layer("block_15_expand").trainable
    assert not backbone.get_layer("block_14_expand").trainable
    assert not backbone.get_layer("Conv1").trainable


def test_weights_file_that_does_not_fit_is_a_sentence(tmp_path):
    from mbv2gui.core.training import model as M
    from mbv2gui.core.training.weights import Weights

    bad = tmp_path / "bad.weights.h5"
    bad.write_bytes(b"this is not an h5 file")
    with pytest.raises(UserError, match="do not fit MobileNetV2"):
        M.build_backbone(0.35, 32, Weights("file", str(bad), "", "x"), 0.9)


def test_distillation_loss_mixes_labels_and_teacher():
    from mbv2gui.core.training import model as M

    q = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]], np.float32)
    onehot = np.eye(3, dtype=np.float32)[[0, 1]]
    plain, accuracy = M.targets_loss(3, False, 4.0, 0.3)
    expected = -np.log([0.7, 0.8])
    np.testing.assert_allclose(np.asarray(plain(onehot, q)), expected, rtol=1e-5)
    np.testing.assert_array_equal(np.asarray(accuracy(onehot, q)), [1, 1])
    distill, _ = M.targets_loss(3, True, 4.0, 0.3)
    soft_q = np.exp(np.log(q) / 4) / np.exp(np.log(q) / 4).sum(1, keepdims=True)
    same = np.asarray(distill(np.concatenate([onehot, soft_q], 1), q))  # teacher agrees: KL 0
    np.testing.assert_allclose(same, 0.3 * expected, rtol=1e-4)
    other = np.asarray(distill(np.concatenate([onehot, soft_q[::-1]], 1), q))
    assert (other > same + 1e-3).all()
