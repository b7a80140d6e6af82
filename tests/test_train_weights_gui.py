"""The Train view's weights, as a new user meets them: where the weights come from in words
before training, a download with progress when they are missing (from a local mirror), three
buttons when they cannot be had, earlier runs offered as starting points, and an unusable file
refused the moment it is chosen."""

from __future__ import annotations

import json
import re
import socket

import pytest

from helpers_images import make_class_tree
from mbv2gui.core.files.importer import import_paths
from mbv2gui.core.jobs import ignore_events, never_stop
from mbv2gui.core.store.project import Project
from mbv2gui.core.training.weights import keras_cache_dir
from mbv2gui.gui.shell.context import AppContext
from mbv2gui.gui.shell.jobrunner import JobRunner
from mbv2gui.gui.train.train_form import MIRROR_KEY
from mbv2gui.gui.shell.settings import settings
from mbv2gui.gui.train.train_view import TrainView
from weights_mirror import NAME, mirror, weights_file  # noqa: F401  (pytest fixtures)
from helpers_gui import shown


@pytest.fixture
def view(qtbot, tmp_path):
    make_class_tree(tmp_path / "photos", per_class=6, size=32)
    project = Project.create(tmp_path / "p.mbv2")
    import_paths(project.path, tmp_path / "photos", ignore_events, never_stop)
    context = AppContext()
    context.jobs = JobRunner()
    context.set_project(project)
    view = shown(qtbot, TrainView(context), 1100, 720)
    view.form.set_values(image_size=96, alpha=0.35, weights="auto", epochs=1, batch_size=4)
    yield view
    context.jobs.shutdown(15.0)
    context.set_project(None)


def test_before_training_the_view_says_the_weights_will_be_downloaded(mirror, view):
    assert view.form.weights_status().kind == "will_download"
    assert "will be downloaded from 127.0.0.1" in view.form.weights_sentence.text()
    assert "few images per class" in view.form.weights_sentence.text()


def test_start_downloads_the_weights_with_progress_then_trains(qtbot, mirror, view):
    assert view.start_training()
    job = view._job
    assert job.name == "downloading pretrained weights"
    assert view.start_button.text() == "Cancel Download"
    qtbot.waitUntil(lambda: view._job is not None and view._job.name == "training",
                    timeout=30_000)
    assert (keras_cache_dir() / NAME).is_file()  # downloaded once, under Keras' own name
    assert mirror.requests == [f"/weights/{NAME}"]
    assert "Pretrained weights downloaded" in view.log.toPlainText()
    assert "downloaded on" in view.form.weights_sentence.text()
    view.stop_training()


def test_the_mirror_setting_is_used(mirror, view, monkeypatch):
    monkeypatch.delenv("MBV2GUI_WEIGHTS_URL")
    settings().setValue(MIRROR_KEY, f"http://127.0.0.1:{mirror.server_port}/weights/")
    try:
        view.form.set_values(seed=1)  # any change refreshes the sentence
        assert "will be downloaded from 127.0.0.1" in view.form.weights_sentence.text()
    finally:
        settings().remove(MIRROR_KEY)


def test_offline_offers_try_again_a_file_or_from_scratch(qtbot, mirror, view, monkeypatch):
    with socket.socket() as probe:  # a port nobody listens on: the mirror is unreachable
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    monkeypatch.setenv("MBV2GUI_WEIGHTS_URL", f"http://127.0.0.1:{closed}/weights/")
    with qtbot.waitSignal(view.trainingEnded, timeout=30_000) as ended:
        assert view.start_training()
    assert ended.args == ["failed"]
    assert view.weights_notice.isVisible()
    assert "could not be downloaded" in view.weights_notice.text()
    assert "Try again, choose a weights file, or train from scratch" in view.weights_notice.text()
    assert view.weights_notice.action_titles() == ["Try Again", "Choose a File…",
                                                   "Train from Scratch"]
    assert not list(keras_cache_dir().glob("*.part")) if keras_cache_dir().exists() else True
    # "Train from Scratch" switches the setting and starts at once.
    view.weights_notice.trigger("Train from Scratch")
    assert view.form.config().weights == "none"
    assert view._job is not None and view._job.name == "training"
    view.stop_training()


def test_an_unusable_file_is_refused_when_it_is_chosen(view, tmp_path):
    damaged = tmp_path / "mine.h5"
    damaged.write_bytes(b"not a weights file")
    assert view.form.use_weights_file(str(damaged)) is False
    assert view.form.weights_refusal.isVisible()
    assert "damaged" in view.form.weights_refusal.text() or "not a model" in \
        view.form.weights_refusal.text()
    assert view.form.config().weights == "auto"  # the previous choice stays
    assert view.context.project.setting("train_config")["weights"] == "auto"


def test_earlier_runs_of_the_same_size_are_offered_as_starting_points(view, tmp_path):
    project = view.context.project
    fits = tmp_path / "runs" / "20261206-010600-aaaa"
    other = tmp_path / "runs" / "20261205-090000-bbbb"
    for folder, size in ((fits, 96), (other, 224)):
        folder.mkdir(parents=True)
        (folder / "labels.txt").write_text("a\nb\n")
        project.record_run(folder.name, folder, {"image_size": size, "alpha": 0.35,
                                                 "weights": "auto"},
                           {"val_accuracy": 0.51, "pretrained": True})
    view.context.runsChanged.emit()
    titles = [view.form.weights_combo.itemText(i) for i in range(view.form.weights_combo.count())]
    offered = [t for t in titles if t.startswith("Start from:")]
    assert len(offered) == 1  # the 224 px run cannot start a 96 px training
    assert re.fullmatch(r"Start from: Run of \d+ \w+ \d\d:\d\d — pretrained \(ImageNet\), 51%",
                        offered[0])
    index = view.form.weights_combo.findData(str(fits))
    view.form.weights_combo.setCurrentIndex(index)
    assert view.form.config().weights == str(fits)
    assert json.loads(json.dumps(project.setting("train_config")))["weights"] == str(fits)
