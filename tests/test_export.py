"""Export: a tiny run trained once, exported to every format, each reloaded with its own
runtime and checked against the app's answers; plus the files that travel with it.

A format whose runtime is missing FAILS here (it does not skip): the app offers every format
in FORMATS, so a missing onnxruntime, tf2onnx or ai-edge-litert is a broken install."""

import json
import shutil
import sys

import numpy as np
import pytest

from helpers_images import DEFAULT_CLASSES, make_class_tree, make_image
from mbv2gui.core.errors import JobCancelled, UserError
from mbv2gui.core.export import FORMATS, MODEL_FILES, ExportError, export_run
from mbv2gui.core.export.howto import HOWTO
from mbv2gui.core.export.verify import load_runner
from mbv2gui.core.runs import Run

SIZE = 32
# The formats that round the weights (to 16-bit floats, or to 8 bits) promise the same top
# answers (what the export checks and says); their probabilities move with the rounding, the
# more so as the fixture's model, 12 epochs on 18 images, is not always sure of itself: seen up
# to 0.025 for float16 and 0.13 for int8 on these images. The bounds catch a broken export.
LOSSY_TOLERANCE = {"tflite-fp16": 0.05, "tflite-int8": 0.2}


def _unseen_images() -> np.ndarray:
    """4 images of the fixture's kinds but not among its files, as a user's new photos would
    be. Not uniform noise: int8's value ranges are calibrated on the project's images, and on
    noise, far outside them, a model this small answered near a tie that rounding moved by 0.4."""
    kinds = list(DEFAULT_CLASSES.values())
    return np.stack([np.asarray(make_image(*kinds[k % len(kinds)], size=SIZE, seed=900 + k))
                     for k in range(4)]).astype(np.float32)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from mbv2gui.core.training.config import TrainConfig
    from mbv2gui.core.training.train import train

    tmp = tmp_path_factory.mktemp("export")
    make_class_tree(tmp / "data", per_class=6, size=SIZE)
    # 12 epochs: a model whose answers are clear, so the 8-bit rounding cannot flip them. After
    # 2 its answers sat near a tie: float16 alone moved them by 0.04, 8 bits flipped all 18.
    config = TrainConfig(image_size=SIZE, alpha=0.35, weights="none", epochs=12, batch_size=6)
    run = train(tmp / "data", config, run_dir=tmp / "run")
    return run.run_dir, tmp / "data", run.load_model()


@pytest.fixture(scope="module")
def shared_folder(tmp_path_factory):
    """Every format goes into ONE folder, as a user exporting several would do: the card and
    the how-to must then describe all of them."""
    return tmp_path_factory.mktemp("exports")


def _every_format():
    """The web format needs ONNX Runtime Web's files, fetched at build time (not in git)."""
    from mbv2gui.core.export.web_runtime import runtime_missing

    missing = pytest.mark.skipif(bool(runtime_missing()), reason=(
        "ONNX Runtime Web is not in resources/ort-web: run packaging/fetch_ort_web.py "
        "(.ci/run does)"))
    # Core ML runs only on macOS; elsewhere it is checked for structure: test_export_coreml.py
    formats = [f for f in FORMATS if f != "coreml" or sys.platform == "darwin"]
    return [pytest.param(f, marks=missing) if f == "web" else f for f in formats]


@pytest.mark.parametrize("fmt", _every_format())
def test_every_format_exports_reloads_and_agrees(trained, shared_folder, fmt):
    run_dir, folder, model = trained
    tmp_path = shared_folder
    events = []
    result = export_run(run_dir, fmt, tmp_path, events.append, lambda: False,
                        project_path=folder if fmt == "tflite-int8" else None)
    assert result.files == [MODEL_FILES[fmt]] and result.model_path.exists()
    assert result.bytes > 10_000
    assert result.agreement["images"] >= 18  # 3 validation images topped up to the minimum
    assert result.agreement["top1_agreement"] >= (0.98 if fmt == "tflite-int8" else 0.99)
    assert "Same top answer as the app on" in result.summary()
    assert not list(tmp_path.glob(".*partial*")), "the staging folder must be gone"
    assert [e for e in events if e["type"] == "progress"][-1]["done"] == 5

    # Reloaded independently, on images it never saw, it answers like the app's own model.
    pixels = _unseen_images()
    reference = model(pixels, training=False).numpy()
    run, runtime = load_runner(fmt, tmp_path)
    exported = np.asarray(run(pixels))
    assert exported.shape == (4, 3) and runtime == result.agreement["runtime"]
    if fmt in LOSSY_TOLERANCE:
        assert (exported.argmax(axis=1) == reference.argmax(axis=1)).all()
    assert np.abs(exported - reference).max() < LOSSY_TOLERANCE.get(fmt, 1e-3)

    # The card, the labels and the how-to, written for the exact file name.
    names = Run.load(run_dir).class_names
    assert (tmp_path / "labels.txt").read_text(encoding="utf-8").splitlines() == names
    card = json.loads((tmp_path / "model.json").read_text(encoding="utf-8"))
    assert card == json.loads(json.dumps(result.card))
    assert card["class_names"] == names and card["input_size"] == [SIZE, SIZE]
    assert card["color_order"] == "RGB" and "raw RGB 0–255 in" in card["preprocessing"]
    assert f"{SIZE}×{SIZE}" in card["preprocessing"]
    assert card["app"].startswith("mbv2gui ") and card["date"]
    assert card["weights_source"] and "val_accuracy" in card["metrics"]
    entry = card["exports"][fmt]
    assert entry["agreement"]["top1_agreement"] == result.agreement["top1_agreement"]
    if fmt == "tflite-int8":
        assert entry["input"]["dtype"] == "uint8" and entry["output"]["dtype"] == "uint8"
        assert entry["input"]["scale"] > 0 and isinstance(entry["input"]["zero_point"], int)
        assert entry["calibration"]["images"] == 15  # the 5 training images of each class
    howto = (tmp_path / HOWTO).read_text(encoding="utf-8")
    assert "labels.txt" in howto
    for earlier in card["exports"]:  # this format and those exported here before it
        assert (tmp_path / MODEL_FILES[earlier]).exists()
        assert f'"{MODEL_FILES[earlier]}"' in howto and f"({earlier})" in howto


def test_cli_signed_int8(trained, tmp_path, capsys):
    from mbv2gui.cli import main

    run_dir, folder, _ = trained
    assert main(["export", str(run_dir), "--format", "tflite-int8", "--out", str(tmp_path),
                 "--int8-input", "int8", "--project", str(folder)]) == 0
    assert "Same top answer as the app on" in capsys.readouterr().out
    card = json.loads((tmp_path / "model.json").read_text(encoding="utf-8"))
    assert card["exports"]["tflite-int8"]["input"]["dtype"] == "int8"
    run, _ = load_runner("tflite-int8", tmp_path)
    assert run(np.zeros((2, SIZE, SIZE, 3), np.float32)).shape == (2, 3)
    assert main(["export", str(tmp_path / "nope"), "--format", "keras",
                 "--out", str(tmp_path)]) == 2
    assert "not a training run folder" in capsys.readouterr().err


def test_truncated_model_file_is_a_clear_error(trained, tmp_path):
    from mbv2gui.core.inference.predict import predict_files

    run_dir, folder, _ = trained
    broken = tmp_path / "broken"
    shutil.copytree(run_dir, broken)
    data = (broken / "model.keras").read_bytes()
    (broken / "model.keras").write_bytes(data[: len(data) // 2])
    image = str(next((folder / "red").iterdir()))
    with pytest.raises(UserError, match="damaged or incomplete"):
        predict_files(Run.load(broken), [image])
    with pytest.raises(UserError, match="damaged or incomplete"):
        export_run(broken, "tflite", tmp_path / "out")
    assert not (tmp_path / "out" / "model.tflite").exists()


@pytest.mark.parametrize("fmt", ["tflite", "onnx", "savedmodel"])
def test_damaged_exported_file_is_a_clear_error(trained, tmp_path, fmt):
    """What verification does when the file on disk is not what was written."""
    (tmp_path / "saved_model").mkdir()
    (tmp_path / "saved_model" / "saved_model.pb").write_bytes(b"\x08\x01garbage")
    for name in ("model.tflite", "model.onnx"):
        (tmp_path / name).write_bytes(b"TFL3" + bytes(100))
    with pytest.raises(ExportError, match="damaged or incomplete"):
        load_runner(fmt, tmp_path)


def test_unknown_format_converter_failure_and_cancel(trained, tmp_path, monkeypatch):
    import tf2onnx

    run_dir, _, _ = trained
    with pytest.raises(UserError, match="not an export format"):
        export_run(run_dir, "tfjs", tmp_path)

    def broken(*args, **kwargs):
        raise AttributeError("module 'tensorflow' has no attribute 'something_new'")

    monkeypatch.setattr(tf2onnx.convert, "from_function", broken)
    with pytest.raises(ExportError, match="could not convert this model with the installed"):
        export_run(run_dir, "onnx", tmp_path / "onnx")
    assert not list((tmp_path / "onnx").rglob("*.onnx")) and not (tmp_path / "onnx" /
                                                                  "model.json").exists()
    with pytest.raises(JobCancelled):
        export_run(run_dir, "keras", tmp_path / "cancelled", should_stop=lambda: True)
    assert not list(tmp_path.rglob("model.keras"))
