"""The fast inference runtime (core/inference/runtime.py): it answers like Keras, falls back to
Keras with a message when it cannot be used, and converts each model once (a changed model
file is converted again).

Tolerance: features and probabilities within 1e-4 of Keras' (relative to the largest value,
or absolute below 1); the conversion itself is checked at 1e-3 when it is made."""

from __future__ import annotations

import numpy as np
import pytest

from helpers_images import make_class_tree, make_image, random_backbone
from mbv2gui.core.export.formats import ExportError
from mbv2gui.core.inference import runtime
from mbv2gui.core.inference.predict import predict_files
from mbv2gui.core.runs import Run
from mbv2gui.core.training import model as M
from mbv2gui.core.training.pipeline import decode_resized

SIZE = 48
MATCH = 1e-4


@pytest.fixture(scope="module")
def models():
    backbone = random_backbone(0.35, SIZE)
    features = M.build_feature_model(backbone, SIZE)
    classifier = M.build_classifier(backbone, M.Head.create(3, 0.2, 0.0), SIZE)
    return features, classifier


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    paths = []
    for i, (color, shape) in enumerate([((220, 30, 30), "circle"), ((30, 200, 40), "square"),
                                        ((40, 40, 230), "cross"), ((240, 240, 20), "circle"),
                                        ((10, 10, 10), "square"), ((200, 200, 200), "cross")]):
        path = folder / f"image_{i}.jpg"
        make_image(color, shape, size=80, seed=i).save(path, quality=90)
        paths.append(path)
    return np.stack([decode_resized(str(p), SIZE) for p in paths])


def converted(folder) -> list:
    """The converted model files in `folder` (one suffix per runtime)."""
    return [f for f in folder.glob("*") if f.suffix in runtime.RUNTIMES.values()]


def close(a, b) -> float:
    """The largest difference, relative to the largest value (absolute below 1)."""
    return float(np.max(np.abs(a - b)) / max(1.0, np.max(np.abs(a))))


@pytest.mark.parametrize("which", [0, 1], ids=["features", "probabilities"])
def test_the_fast_runtime_answers_like_keras(models, images, tmp_path, which):
    model = models[which]
    events = []
    fast = runtime.forward_for(model, tmp_path, events.append, size=SIZE)
    assert fast.runtime == "onnxruntime", events  # the first runtime tried
    expected = M.compiled_forward(model)(images)
    answered = fast(images)
    assert answered.shape == expected.shape
    assert close(expected, answered) <= MATCH
    assert np.max(np.abs(expected)) > 0.01  # a vanishing output would match anything
    if which == 1:
        assert np.array_equal(expected.argmax(1), answered.argmax(1))
    assert not events  # nothing to tell when the fast runtime runs


def test_a_conversion_is_reused_and_made_again_for_other_weights(models, images, tmp_path):
    features, _ = models
    before = runtime.conversions
    runtime.forward_for(features, tmp_path, prune=True)
    assert runtime.conversions == before + 1
    again = runtime.forward_for(features, tmp_path, prune=True)
    assert runtime.conversions == before + 1  # read back, not converted
    assert again.runtime == "onnxruntime" and again.check["ok"]
    # built again (Keras numbers unnamed layers anew), the same weights: the same conversion
    rebuilt = M.build_feature_model(random_backbone(0.35, SIZE), SIZE)
    assert runtime.forward_for(rebuilt, tmp_path, prune=True).runtime == "onnxruntime"
    assert runtime.conversions == before + 1
    other = M.build_feature_model(random_backbone(0.35, SIZE), SIZE)
    other.set_weights([w * 0.5 for w in features.get_weights()])
    runtime.forward_for(other, tmp_path, prune=True)
    assert runtime.conversions == before + 2
    assert len(converted(tmp_path)) == 1  # the folder keeps its one model's


def test_a_model_that_cannot_be_converted_runs_on_keras_with_a_message(models, images, tmp_path,
                                                                     monkeypatch):
    features, _ = models

    def fails(*_args, **_kwargs):
        raise ExportError("The ONNX converter (tf2onnx) could not convert this model.", "boom")

    monkeypatch.setattr(runtime, "_convert", fails)
    for attempt in range(2):
        events = []
        before = runtime.conversions
        forward = runtime.forward_for(features, tmp_path, events.append)
        assert forward.runtime == "keras"
        assert [e["type"] for e in events] == ["message"]
        assert runtime.FALLBACK in events[0]["text"] and "tf2onnx" in events[0]["text"]
        np.testing.assert_array_equal(forward(images), M.compiled_forward(features)(images))
        # the failure is remembered beside the model: the second time nothing is tried
        assert runtime.conversions == before + (len(runtime.RUNTIMES) if attempt == 0 else 0)


def test_a_damaged_cached_conversion_is_made_again_or_falls_back(models, images, tmp_path,
                                                                monkeypatch):
    features, _ = models
    runtime.forward_for(features, tmp_path)
    (model_file,) = converted(tmp_path)
    model_file.write_bytes(b"not a model")
    before = runtime.conversions
    healed = runtime.forward_for(features, tmp_path)
    assert healed.runtime == "onnxruntime" and runtime.conversions == before + 1
    assert close(M.compiled_forward(features)(images), healed(images)) <= MATCH

    model_file.write_bytes(b"damaged again")
    monkeypatch.setattr(runtime, "_convert",
                        lambda *a, **k: (_ for _ in ()).throw(RuntimeError("no converter")))
    events = []
    forward = runtime.forward_for(features, tmp_path, events.append)
    assert forward.runtime == "keras" and "no converter" in events[0]["text"]


def test_a_mismatching_conversion_is_not_used(models, tmp_path, monkeypatch):
    features, _ = models
    monkeypatch.setattr(runtime, "_open", lambda name, file: lambda batch: np.zeros(
        (len(batch), features.output_shape[-1]), np.float32))
    events = []
    forward = runtime.forward_for(features, tmp_path, events.append)
    assert forward.runtime == "keras" and "differ from Keras" in events[0]["text"]
    assert not converted(tmp_path)


def test_predict_converts_a_run_once_and_again_when_its_model_file_changes(tmp_path,
                                                                          monkeypatch):
    from tiny_runs import tiny_run

    monkeypatch.setattr(runtime, "CONVERT_FROM", 3)  # a few images are worth it here

    make_class_tree(tmp_path / "data", per_class=2, size=32)
    files = [str(p) for p in sorted((tmp_path / "data").rglob("*.*"))]
    tiny_run(tmp_path / "run", ["red", "green", "blue"], size=32)
    before = runtime.conversions
    predict_files(Run.load(tmp_path / "run"), files)
    predict_files(Run.load(tmp_path / "run"), files)
    assert runtime.conversions == before + 1
    assert len(converted(tmp_path / "run" / "runtime")) == 1

    tiny_run(tmp_path / "run", ["red", "green", "blue"], size=32)  # new weights, same place
    rows = predict_files(Run.load(tmp_path / "run"), files)
    assert runtime.conversions == before + 2
    assert len(converted(tmp_path / "run" / "runtime")) == 1  # the old one went
    assert all(row["error"] is None and row["label"] for row in rows)


def test_a_few_images_run_on_keras_unless_the_model_was_converted_before(models, tmp_path):
    features, _ = models
    before = runtime.conversions
    events = []
    few = runtime.forward_for(features, tmp_path, events.append, images=10)
    assert few.runtime == "keras" and runtime.conversions == before and not events
    runtime.forward_for(features, tmp_path, images=runtime.CONVERT_FROM)
    assert runtime.forward_for(features, tmp_path, images=10).runtime == "onnxruntime"
    assert runtime.conversions == before + 1


def test_the_feature_cache_is_filled_by_the_fast_runtime_like_keras(models, tmp_path,
                                                                   monkeypatch):
    from mbv2gui.core.training.features import FeatureCache, compute_features

    features, _ = models
    made = make_class_tree(tmp_path / "data", per_class=2, size=40)
    paths = [str(p) for group in made.values() for p in group]
    hashes = [f"{i:040x}" for i in range(len(paths))]
    monkeypatch.setattr(runtime, "CONVERT_FROM", 3)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    cache = FeatureCache(tmp_path / "cache", "key")
    fast, ok, errors = compute_features(features, paths, hashes, SIZE, cache, lambda e: None,
                                        lambda: False, batch_size=4)
    assert ok.all() and not errors
    # in the user's cache, shared by every project training this backbone
    assert len(converted(runtime.default_folder())) == 1
    # the training path's pixels (the same loader and resize) through Keras
    expected = M.compiled_forward(features)(np.stack([decode_resized(p, SIZE) for p in paths]))
    assert close(expected, fast) <= MATCH
    assert close(expected, np.stack([cache.get(h) for h in hashes])) <= MATCH


def test_a_model_the_first_runtime_cannot_take_runs_on_the_next(models, images, tmp_path,
                                                                  monkeypatch):
    features, _ = models
    convert = runtime._convert

    def no_onnx(name, *args):
        if name == "onnxruntime":
            raise RuntimeError("the ONNX converter failed")
        return convert(name, *args)

    monkeypatch.setattr(runtime, "_convert", no_onnx)
    events = []
    forward = runtime.forward_for(features, tmp_path, events.append)
    assert forward.runtime == "litert" and not events
    assert close(M.compiled_forward(features)(images), forward(images)) <= MATCH
    assert runtime.forward_for(features, tmp_path).runtime == "litert"  # remembered
