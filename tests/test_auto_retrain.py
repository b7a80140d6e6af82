"""Retrain as you label: a label change starts a quick head-only retraining on the cached
features, a change during one restarts it, turning it off stops it, a manual training is waited
for, and settings without pretrained weights are refused in a sentence."""

from __future__ import annotations

import threading

import pytest

from helpers_images import make_class_tree, random_backbone_weights
from mbv2gui.core.errors import JobCancelled, UserError
from mbv2gui.core.files.importer import import_paths
from mbv2gui.core.store.project import Project
from mbv2gui.core.training.quick_retrain import retrain_config, retrain_head
from mbv2gui.gui.train.auto_retrain import JOB_NAME, OFF, ON, RUNNING, SETTING, AutoRetrainer
from mbv2gui.gui.shell.context import AppContext
from mbv2gui.gui.shell.jobrunner import TRAINING, JobRunner

TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    root = tmp_path_factory.mktemp("autoretrain")
    make_class_tree(root / "images", per_class=6, size=32)
    weights = random_backbone_weights(root / "backbone.weights.h5", 0.35, 32)
    return root, weights


def _config(weights, **changes) -> dict:
    return {"image_size": 32, "alpha": 0.35, "weights": str(weights), "epochs": 3,
            "batch_size": 8, **changes}


@pytest.fixture
def setup(qapp, assets, tmp_path):
    root, weights = assets
    project_path = tmp_path / "retrain.mbv2"
    Project.create(project_path).close()
    import_paths(project_path, [root / "images"], report=lambda e: None, should_stop=lambda: False)
    context = AppContext()
    runner = JobRunner()
    context.jobs = runner
    context.set_project(Project.open(project_path))
    retrainer = AutoRetrainer(context)
    retrainer.debounce_ms = 100
    retrainer.set_base_config(_config(weights))
    states: list[str] = []
    retrainer.stateChanged.connect(states.append)
    started: list = []
    runner.jobStarted.connect(started.append)
    yield context, retrainer, states, started
    assert runner.shutdown(30.0), "a job thread was left running"
    context.set_project(None)


def _relabel(context, index: int = 0) -> int:
    """Moves one image to the next class, the way the Label view does."""
    project = context.project
    image = project.images()[index]
    classes = [c.id for c in project.classes()]
    new = classes[(classes.index(image.class_id) + 1) % len(classes)]
    project.set_labels({image.id: new})
    context.imagesChanged.emit([image.id])
    return image.id


def _idle(retrainer, context) -> bool:
    return not retrainer.is_running() and not context.jobs.running_jobs()


def test_a_label_change_retrains_and_becomes_the_current_run(qtbot, setup):
    context, retrainer, states, started = setup
    project = context.project
    assert not retrainer.is_enabled() and project.setting(SETTING, False) is False
    runs_changed = []
    context.runsChanged.connect(lambda: runs_changed.append(True))

    retrainer.set_enabled(True)
    assert retrainer.is_enabled() and project.setting(SETTING) is True
    assert ON in states
    # No model yet: turning it on makes the first one.
    qtbot.waitUntil(lambda: len(project.runs()) == 1 and _idle(retrainer, context),
                    timeout=TIMEOUT_MS)
    first = project.runs()[-1]
    assert context.current_run_id == first.id
    assert RUNNING in states and states[-1].startswith("Model up to date (trained ")
    assert "validation accuracy" in states[-1]
    assert first.config["fine_tune_epochs"] == 0 and first.metrics["pretrained"]
    assert [job.name for job in started] == [JOB_NAME]
    assert started[0].ask_before_quit is False

    _relabel(context)
    qtbot.waitUntil(lambda: [r.id for r in project.runs()] != [first.id]
                    and _idle(retrainer, context), timeout=TIMEOUT_MS)
    # The new model replaced the previous quick one: one run, the current one.
    second, = project.runs()
    assert second.id != first.id and context.current_run_id == second.id
    assert len(runs_changed) == 2 and len(started) == 2
    assert states[-1].startswith("Model up to date")

    # The choice is kept in the project: a new retrainer on the same project is on.
    again = AutoRetrainer(context)
    assert again.is_enabled()
    again.set_enabled(False)  # so that it does not react to anything else in this test


def test_a_change_during_a_retraining_cancels_it_and_starts_again(qtbot, setup):
    context, retrainer, states, started = setup
    project = context.project
    retrainer.set_enabled(True)
    qtbot.waitUntil(lambda: len(project.runs()) == 1 and _idle(retrainer, context),
                    timeout=TIMEOUT_MS)
    first = project.runs()[0].id
    started.clear()

    _relabel(context, 0)
    qtbot.waitUntil(retrainer.is_running, timeout=TIMEOUT_MS)
    first_job = started[-1]
    cancelled = []
    first_job.cancelled.connect(lambda: cancelled.append(True))
    _relabel(context, 1)  # while it runs
    assert first_job.cancel_requested()
    qtbot.waitUntil(lambda: len(started) == 2 and _idle(retrainer, context), timeout=TIMEOUT_MS)
    assert cancelled == [True]
    assert [job.name for job in started] == [JOB_NAME, JOB_NAME]
    # The cancelled retraining left no run behind; the restarted one replaced the first.
    runs = project.runs()
    assert len(runs) == 1 and runs[0].id != first and context.current_run_id == runs[0].id
    assert states[-1].startswith("Model up to date")


def test_turning_it_off_stops_the_retraining_and_ignores_changes(qtbot, setup):
    context, retrainer, states, started = setup
    project = context.project
    retrainer.set_enabled(True)
    qtbot.waitUntil(retrainer.is_running, timeout=TIMEOUT_MS)
    job = started[-1]
    retrainer.set_enabled(False)
    assert job.cancel_requested()
    assert not retrainer.is_enabled() and project.setting(SETTING) is False
    assert states[-1] == OFF
    qtbot.waitUntil(lambda: _idle(retrainer, context), timeout=TIMEOUT_MS)
    assert project.runs() == []

    _relabel(context)
    qtbot.wait(retrainer.debounce_ms * 5)
    assert len(started) == 1 and not retrainer.is_running() and project.runs() == []


def test_waits_while_a_manual_training_runs(qtbot, setup):
    context, retrainer, states, started = setup
    release = threading.Event()

    def manual_training(*, report, should_stop):
        while not (release.is_set() or should_stop()):
            release.wait(0.02)
        raise JobCancelled()

    manual = context.jobs.start(manual_training, name="training", kind=TRAINING)
    retrainer.set_enabled(True)  # no run yet: it wants to train, but must wait
    _relabel(context)
    qtbot.waitUntil(lambda: "current training" in states[-1], timeout=TIMEOUT_MS)
    qtbot.wait(retrainer.debounce_ms * 3)
    assert [job.name for job in started] == ["training"] and not retrainer.is_running()
    release.set()
    qtbot.waitUntil(lambda: not manual.is_running(), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: len(context.project.runs()) == 1 and _idle(retrainer, context),
                    timeout=TIMEOUT_MS)
    assert [job.name for job in started] == ["training", JOB_NAME]


def test_from_scratch_settings_are_refused_in_a_sentence(qtbot, setup, assets):
    context, retrainer, states, started = setup
    retrainer.set_base_config(_config("none"))
    retrainer.set_enabled(True)
    assert not retrainer.is_enabled()
    assert "needs pretrained weights" in states[-1] and "Train" in states[-1]
    assert context.project.setting(SETTING, False) is False
    _relabel(context)
    qtbot.wait(retrainer.debounce_ms * 3)
    assert started == []

    with pytest.raises(UserError, match="needs pretrained weights"):
        retrain_head(context.project.path, base_config=_config("none"))
    with pytest.raises(UserError, match="needs pretrained weights"):
        retrain_config({"weights": "auto", "image_size": 33})  # no ImageNet file at 33 px
    quick = retrain_config(_config(assets[1], epochs=100, fine_tune_epochs=5,
                                   teacher_path="/x.keras"))
    assert (quick.epochs, quick.fine_tune_epochs, quick.teacher_path) == (20, 0, None)


def test_an_unchanged_project_is_not_retrained(qtbot, setup):
    """Only a change that matters starts a training: an event without a label change (a file
    check, an unlabeled import) returns the current run at once."""
    context, retrainer, states, started = setup
    project = context.project
    config = retrainer._base_config
    first = retrain_head(project.path, base_config=config)
    assert [r.id for r in project.runs()] == [first.run_id]
    same = retrain_head(project.path, base_config=config)
    assert same.run_id == first.run_id and len(project.runs()) == 1
    _relabel(context)
    changed = retrain_head(project.path, base_config=config)
    # The new quick run replaces the previous one (row and folder): one model, not one a label.
    assert [r.id for r in project.runs()] == [changed.run_id] != [first.run_id]
    assert not first.run_dir.exists() and changed.run_dir.is_dir()
    # A different setting is a different model, too; keep_previous keeps the old run.
    other = retrain_head(project.path, base_config={**config, "epochs": 2}, keep_previous=True)
    assert [r.id for r in project.runs()] == [changed.run_id, other.run_id]
    # A run trained by hand is never removed by a quick retraining.
    from mbv2gui.core.training.config import TrainConfig
    from mbv2gui.core.training.train import train

    manual = train(project.path, TrainConfig.from_dict(config))
    _relabel(context, 1)
    latest = retrain_head(project.path, base_config=config)
    assert [r.id for r in project.runs()] == [changed.run_id, manual.run_id, latest.run_id]


def test_the_checkbox_and_its_sentence(qtbot, setup, assets):
    from mbv2gui.gui.train.auto_retrain import retrain_controls

    context, retrainer, states, started = setup
    settings = {"value": _config("none")}
    box, label = retrain_controls(retrainer, lambda: settings["value"])
    qtbot.addWidget(box)
    qtbot.addWidget(label)
    assert not box.isChecked() and label.text() == ""
    box.setChecked(True)  # from scratch: refused, the box unticks itself and says why
    assert not box.isChecked() and not retrainer.is_enabled()
    assert "needs pretrained weights" in label.text()
    settings["value"] = _config(assets[1])  # the form now has a weights file
    box.setChecked(True)
    assert retrainer.is_enabled() and label.text() == ON
    qtbot.waitUntil(lambda: len(context.project.runs()) == 1 and _idle(retrainer, context),
                    timeout=TIMEOUT_MS)
    assert box.isChecked() and label.text().startswith("Model up to date")
    box.setChecked(False)
    assert not retrainer.is_enabled() and label.text() == ""


def test_a_manual_training_takes_over_from_a_retraining(qtbot, setup):
    context, retrainer, states, started = setup
    retrainer.set_enabled(True)  # no run yet: a retraining starts
    qtbot.waitUntil(retrainer.is_running, timeout=TIMEOUT_MS)
    ours = started[-1]

    def manual_training(*, report, should_stop):
        return "a model"

    context.jobs.start(manual_training, name="training", kind=TRAINING)
    assert ours.cancel_requested()
    qtbot.waitUntil(lambda: _idle(retrainer, context), timeout=TIMEOUT_MS)
    assert context.project.runs() == []  # the cancelled retraining left no run
    assert retrainer.is_enabled() and states[-1] == ON
    assert [job.name for job in started] == [JOB_NAME, "training"]
