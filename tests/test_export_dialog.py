"""The Export dialog runs the export job and shows the agreement and the size at the end."""

import json

import pytest

from mbv2gui.gui.shell.context import AppContext
from mbv2gui.gui.shell.export_dialog import ExportDialog, open_export_dialog
from mbv2gui.gui.shell.jobrunner import JobRunner


def make_run(tmp_path):
    """An untrained but complete run (building is seconds; training would be much longer)."""
    from mbv2gui.core.training import model as M
    from mbv2gui.core.runs import Run
    from mbv2gui.core.files.sample_images import write_color_classes
    from mbv2gui.core.training.config import TrainConfig
    from mbv2gui.core.training.weights import Weights

    files = write_color_classes(tmp_path / "data", ("red", "blue"), per_class=3, size=32)
    backbone = M.build_backbone(0.35, 32, Weights("none", None, "", "none"), 0.9)
    classifier = M.build_classifier(backbone, M.Head.create(2, 0.2, 1e-4), 32)
    rows = [{"path": str(f), "content_hash": "", "true": int("red" in f.name),
             "split": "validation", "probabilities": [0.5, 0.5]} for f in files]
    run = Run(tmp_path / "run", TrainConfig(image_size=32, alpha=0.35, weights="none"),
              ["blue", "red"], {}, {"val_accuracy": 0.5, "weights_source": "none"}, rows)
    run.save(classifier)
    return run.run_dir


@pytest.fixture
def context(qtbot):
    context = AppContext()
    context.jobs = JobRunner()
    yield context
    context.jobs.shutdown(10.0)


def test_dialog_exports_keras_and_shows_agreement(qtbot, context, tmp_path):
    dialog = ExportDialog(context, str(make_run(tmp_path)))
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.selected_format() == "tflite" and dialog.int8_input.isHidden()
    dialog.set_format("tflite-int8")
    assert not dialog.int8_input.isHidden()  # the input type matters only for int8
    dialog.set_format("keras")
    dialog.folder_edit.setText(str(tmp_path / "out"))
    dialog.start_export()
    assert not dialog.export_button.isEnabled() and dialog.cancel_button.isEnabled()
    dialog.reject()  # closing while it writes files is refused
    assert dialog.isVisible()
    qtbot.waitUntil(dialog.export_button.isEnabled, timeout=120_000)
    assert dialog.result is not None, dialog.status.text()
    assert "Same top answer as the app on 6 of 6 images (100.0%)" in dialog.status.text()
    assert " MB)" in dialog.status.text() or " KB)" in dialog.status.text()
    assert not dialog.open_button.isHidden() and dialog.export_button.isEnabled()
    card = json.loads((tmp_path / "out" / "model.json").read_text(encoding="utf-8"))
    assert card["exports"]["keras"]["agreement"]["top1_agreement"] == 1.0


def test_open_export_dialog_finds_a_run_and_reports_failures(qtbot, context, tmp_path):
    dialog = open_export_dialog(context, str(tmp_path / "missing-run"))
    qtbot.addWidget(dialog)
    assert dialog.isVisible()
    dialog.folder_edit.setText(str(tmp_path / "out"))
    dialog.start_export()
    qtbot.waitUntil(dialog.export_button.isEnabled, timeout=60_000)
    assert dialog.result is None
    assert "not a training run folder" in dialog.status.text()
    assert dialog.export_button.isEnabled()


def test_no_run_given_exports_the_best_run_named_in_words(qtbot, context, tmp_path):
    """Not the newest run, and no internal id in the title."""
    import time

    from mbv2gui.core.store.project import Project

    year = time.localtime().tm_year
    project = Project.create(tmp_path / "p.mbv2")
    for run_id, accuracy, weights in ((f"{year}1206-010641-aaaa", 0.88, "auto"),
                                      (f"{year}1206-020641-bbbb", 0.40, "none")):
        folder = tmp_path / run_id
        folder.mkdir()
        project.record_run(run_id, folder, {"weights": weights, "image_size": 96},
                           {"val_accuracy": accuracy, "pretrained": weights != "none"})
    context.set_project(project)
    try:
        dialog = open_export_dialog(context)
        qtbot.addWidget(dialog)
        assert dialog.run_dir.name.endswith("aaaa")
        title = dialog.windowTitle()
        assert "pretrained (ImageNet), 88%" in title and "aaaa" not in title
        named = ExportDialog(context, f"{year}1206-020641-bbbb")  # a run chosen by id
        qtbot.addWidget(named)
        assert "— from scratch, 40%" in named.windowTitle() and "bbbb" not in named.windowTitle()
    finally:
        context.set_project(None)
