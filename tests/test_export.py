"""Export: a tiny run trained once, exported to every format, each reloaded with its own
runtime and checked against the app's answers; plus the files that travel with it.

A format whose runtime is missing FAILS here (it does not skip): the app claims every format
in FORMATS, so a missing onnxruntime or ai-edge-litert is a broken install."""

import json
import shutil

import numpy as np
import pytest

from mbv2gui.core.errors import UserError
from mbv2gui.core.export import FORMATS, MODEL_FILES, export_run
from mbv2gui.core.export.card import HOWTO
from mbv2gui.core.export.verify import load_runner
from mbv2gui.core.runs import Run

CLASSES = ("red", "blue", "green")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from mbv2gui.core.sample_images import write_color_classes
    from mbv2gui.core.train import TrainConfig, train

    tmp = tmp_path_factory.mktemp("export")
    folder = tmp / "data"
    write_color_classes(folder, CLASSES, per_class=6, size=32)
    config = TrainConfig(image_size=32, alpha=0.35, weights="none", epochs=2, batch_size=4)
    run = train(folder, config, run_dir=tmp / "run")
    return tmp / "run", folder, run.load_model()


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_exports_reloads_and_agrees(trained, tmp_path, fmt):
    run_dir, folder, model = trained
    events = []
    result = export_run(run_dir, fmt, tmp_path / fmt, events.append, lambda: False,
                        project_path=folder if fmt == "tflite-int8" else None)
    out = tmp_path / fmt
    assert result["files"] == [MODEL_FILES[fmt]] and (out / MODEL_FILES[fmt]).exists()
    assert result["bytes"] > 10_000
    agreement = result["agreement"]
    assert agreement["images"] >= 3
    assert agreement["top1_agreement"] >= (0.98 if fmt == "tflite-int8" else 0.99)
    assert not list(out.glob(".*partial*")), "the staging folder must be gone"
    assert [e for e in events if e["type"] == "progress"][-1]["done"] == 5

    # reload independently and compare with the app's own model on fresh pixels
    run = Run.load(run_dir)
    pixels = np.random.default_rng(1).uniform(0, 255, (4, 32, 32, 3)).astype(np.float32)
    reference = model(pixels, training=False).numpy()
    exported = load_runner(fmt, out)(pixels)
    assert exported.shape == (4, 3)
    tolerance = 0.05 if fmt == "tflite-int8" else 1e-3
    assert np.abs(np.asarray(exported) - reference).max() < tolerance

    # the card, the labels and the how-to, written for the exact file name
    assert (out / "labels.txt").read_text(encoding="utf-8").splitlines() == run.class_names
    card = json.loads((out / "model.json").read_text(encoding="utf-8"))
    assert card["class_names"] == run.class_names
    assert card["input_size"] == [32, 32] and card["color_order"] == "RGB"
    assert "inside the model" in card["preprocessing"].lower()
    assert card["app"].startswith("mbv2gui ") and card["date"]
    assert card["weights_source"] and "val_accuracy" in card["metrics"]
    entry = card["exports"][fmt]
    assert entry["agreement"]["top1_agreement"] == agreement["top1_agreement"]
    if fmt == "tflite-int8":
        assert entry["input"]["dtype"] == "uint8"
        assert entry["input"]["scale"] > 0 and isinstance(entry["input"]["zero_point"], int)
        assert entry["calibration"]["images"] >= 10
    howto = (out / HOWTO).read_text(encoding="utf-8")
    assert f'"{MODEL_FILES[fmt]}"' in howto and "labels.txt" in howto


def test_two_formats_in_one_folder_share_the_card(trained, tmp_path):
    run_dir, _, _ = trained
    export_run(run_dir, "keras", tmp_path)
    export_run(run_dir, "onnx", tmp_path)
    card = json.loads((tmp_path / "model.json").read_text(encoding="utf-8"))
    assert set(card["exports"]) == {"keras", "onnx"}
    howto = (tmp_path / HOWTO).read_text(encoding="utf-8")
    assert '"model.keras"' in howto and '"model.onnx"' in howto


def test_truncated_model_file_is_a_clear_error(trained, tmp_path):
    run_dir, _, _ = trained
    broken = tmp_path / "broken"
    shutil.copytree(run_dir, broken)
    data = (broken / "model.keras").read_bytes()
    (broken / "model.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="damaged or incomplete"):
        Run.load(broken).load_model()
    with pytest.raises(UserError, match="damaged or incomplete"):
        export_run(broken, "tflite", tmp_path / "out")
    assert not (tmp_path / "out" / "model.tflite").exists()


def test_unknown_format_and_cli(trained, tmp_path, capsys):
    from mbv2gui.cli import main

    run_dir, folder, _ = trained
    with pytest.raises(UserError, match="not an export format"):
        export_run(run_dir, "coreml", tmp_path)
    # the CLI, with a signed-int8 full-integer model (the other input type)
    assert main(["export", str(run_dir), "--format", "tflite-int8", "--out", str(tmp_path),
                 "--int8-input", "int8", "--project", str(folder)]) == 0
    assert "Same top answer as the app" in capsys.readouterr().out
    card = json.loads((tmp_path / "model.json").read_text(encoding="utf-8"))
    assert card["exports"]["tflite-int8"]["input"]["dtype"] == "int8"
    assert load_runner("tflite-int8", tmp_path)(np.zeros((2, 32, 32, 3), np.float32)).shape \
        == (2, 3)
    assert main(["export", str(tmp_path / "nope"), "--format", "keras",
                 "--out", str(tmp_path)]) == 2
    assert "not a training run folder" in capsys.readouterr().err


def test_cancel_leaves_nothing(trained, tmp_path):
    from mbv2gui.core.errors import JobCancelled

    run_dir, _, _ = trained
    with pytest.raises(JobCancelled):
        export_run(run_dir, "onnx", tmp_path / "out", should_stop=lambda: True)
    assert not list((tmp_path).rglob("model.*"))
