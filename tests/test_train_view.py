"""The Train view driven as a person would: tiny settings, Start, watch the loss curve fill,
Stop (the best model so far is kept and listed), change labels meanwhile, Retrain to the end.
Plus: problems block Start with a sentence, settings are remembered per project, past runs'
curves and a comparison, and no project at all."""

import json

import pytest
from PySide6.QtCore import Qt

from helpers_images import make_class_tree
from mbv2gui.core.files.importer import import_paths
from mbv2gui.core.jobs import ignore_events, never_stop
from mbv2gui.core.store.project import Project
from mbv2gui.gui.shell.context import AppContext
from mbv2gui.gui.shell.jobrunner import JobRunner
from mbv2gui.gui.train.train_plots import TrainPlots
from mbv2gui.gui.train.train_view import TrainView
from helpers_gui import shown

TINY = dict(image_size=32, alpha=0.35, weights="none", batch_size=4, fine_tune_epochs=0,
            augment_rotation=False, augment_zoom=False)


def make_project(tmp_path, classes=None, per_class=6, name="p"):
    make_class_tree(tmp_path / f"{name}-photos", classes, per_class=per_class, size=32)
    project = Project.create(tmp_path / f"{name}.mbv2")
    import_paths(project.path, tmp_path / f"{name}-photos", ignore_events, never_stop)
    return project


@pytest.fixture
def context(qtbot):
    context = AppContext()
    context.jobs = JobRunner()
    yield context
    context.jobs.shutdown(10.0)
    context.set_project(None)


def open_view(qtbot, context):
    return shown(qtbot, TrainView(context), 1100, 720)


def points(view, series):
    return TrainPlots.points(getattr(view.plots, series))


def test_start_watch_stop_then_retrain_to_the_end(qtbot, context, tmp_path):
    context.set_project(make_project(tmp_path))
    view = open_view(qtbot, context)
    assert view.problems == [] and view.start_button.isEnabled()
    view.form.set_values(epochs=300, **TINY)
    assert view.runs.row_count() == 0

    qtbot.mouseClick(view.start_button, Qt.MouseButton.LeftButton)
    assert view.is_training() and view.start_button.text() == "Stop"
    assert not view.form.isEnabled()
    job = context.jobs.running_jobs()[0]
    assert job.name == "training"
    # A training's first epoch: live batch loss, then an epoch point (train and validation).
    qtbot.waitUntil(lambda: len(points(view, "val_loss")[0]) >= 1, timeout=80_000)
    view.plots.flush()
    batch_x, batch_y = points(view, "batch_loss")
    assert batch_x and all(y > 0 for y in batch_y)
    assert points(view, "train_accuracy")[1] and points(view, "learning_rate")[1]
    assert "images/s" in view.status.text() or "Training" in view.status.text()
    assert "Training from scratch" in view.log.toPlainText()

    context.imagesChanged.emit([])  # the person relabels something meanwhile
    with qtbot.waitSignal(view.trainingEnded, timeout=60_000) as ended:
        qtbot.mouseClick(view.start_button, Qt.MouseButton.LeftButton)  # Stop
    assert ended.args == ["finished"]
    runs = context.project.runs()
    assert len(runs) == 1 and runs[0].metrics["stopped_early_by_user"]
    assert runs[0].metrics["epochs"] < 300
    assert view.runs.run_ids() == [runs[0].id] and view.runs.selected_run_id() == runs[0].id
    assert context.current_run_id == runs[0].id
    assert view.result.text().startswith("Stopped by you; kept the best model so far")
    assert "validation images" in view.result.text()
    assert view.start_button.text() == "Start Training" and view.form.isEnabled()
    assert view.labels_notice.isVisible()
    assert "changed labels during training" in view.labels_notice.text()
    # The selected run's curves come from its saved history.
    assert len(points(view, "train_loss")[0]) == runs[0].metrics["epochs"]

    view.form.set_values(epochs=2)
    with qtbot.waitSignal(view.trainingStarted, timeout=1000):
        view.labels_notice.trigger("Retrain")
    assert not view.labels_notice.isVisible()
    with qtbot.waitSignal(view.trainingEnded, timeout=80_000) as ended:
        pass
    assert ended.args == ["finished"], view.result.text()
    runs = context.project.runs()
    assert len(runs) == 2 and runs[1].metrics["epochs"] == 2
    assert view.runs.row_count() == 2 and view.runs.selected_run_id() == runs[1].id
    assert context.current_run_id == runs[1].id
    assert view.result.text().startswith("Finished in")
    assert not view.labels_notice.isVisible()
    assert points(view, "val_accuracy")[0] == [1.0, 2.0]

    # Tick the first run to overlay it on the second one's curves.
    view.runs.set_compared(runs[0].id)
    assert len(points(view, "compare_val_loss")[0]) == runs[0].metrics["epochs"]
    # Selecting the older run makes it the current run (Evaluate and Predict follow).
    view.runs.tree.setCurrentItem(view.runs.tree.topLevelItem(1))
    assert context.current_run_id == runs[0].id


def test_one_class_blocks_start_with_a_sentence(qtbot, context, tmp_path):
    context.set_project(make_project(tmp_path, ["red"], per_class=3))
    view = open_view(qtbot, context)
    assert not view.start_button.isEnabled()
    assert any("Only the class “red” has images" in t for t in view.problem_texts())
    assert view.start_training() is False and not view.is_training()
    assert view.result.text().startswith("Training cannot start: Only the class “red”")
    assert context.jobs.running_jobs() == []
    # Warnings with images offer to show them.
    rows = [view.problems_layout.itemAt(i).widget() for i in range(view.problems_layout.count())]
    few = next(row for row in rows if row.problem.kind == "few_images")
    with qtbot.waitSignal(context.showImagesRequested, timeout=1000) as shown:
        qtbot.mouseClick(few.button, Qt.MouseButton.LeftButton)
    assert sorted(shown.args[0]) == sorted(i.id for i in context.project.labeled_images())
    assert "red" in shown.args[1]
    # A second class with images: Start becomes possible (once the labels change is seen).
    make_class_tree(tmp_path / "more", ["blue"], per_class=5)
    import_paths(context.project.path, tmp_path / "more", ignore_events, never_stop)
    context.imagesChanged.emit([])
    qtbot.waitUntil(lambda: view.start_button.isEnabled(), timeout=3000)
    assert [p.kind for p in view.problems] == ["few_images"]


def test_settings_are_remembered_per_project(qtbot, context, tmp_path):
    first = make_project(tmp_path, name="first")
    second_path = make_project(tmp_path, name="second").path
    context.set_project(first)
    view = open_view(qtbot, context)
    defaults = view.form.config()
    assert (defaults.image_size, defaults.alpha, defaults.weights) == (96, 0.35, "auto")
    # Flips and shifts start ticked; rotations and zooms not, and their tooltips say why.
    checks = view.form.augment_checks
    assert [k for k, check in checks.items() if check.isChecked()] == ["augment_flip",
                                                                       "augment_shift"]
    assert "Off at first" in checks["augment_rotation"].toolTip()
    assert "Off at first" not in checks["augment_flip"].toolTip()
    view.form.set_advanced_visible(True)
    view.form.epochs_spin.setValue(7)  # as typed by the person
    view.form.set_values(image_size=32, weights="none", val_split=0.3, seed=5,
                         augment_flip=False, fine_tune_epochs=4)
    wanted = view.form.config()
    assert (wanted.epochs, wanted.fine_tune_epochs, wanted.val_split) == (7, 4, 0.3)
    assert "no pretrained weights" in view.form.weights_sentence.text()

    context.set_project(Project.open(second_path))
    assert view.form.config() == defaults
    context.set_project(Project.open(tmp_path / "first.mbv2"))
    assert view.form.config() == wanted
    view.close()
    reopened = open_view(qtbot, context)  # a view built later shows the project as it is
    assert reopened.form.config() == wanted
    assert reopened.form.fine_tune_check.isChecked()
    assert not reopened.form.augment_checks["augment_flip"].isChecked()


def test_weights_file_choice_is_a_sentence(qtbot, context, tmp_path):
    context.set_project(make_project(tmp_path))
    view = open_view(qtbot, context)
    # Refused when chosen, not when training fails; the previous choice stays.
    assert not view.form.use_weights_file(str(tmp_path / "nothing.h5"))
    assert view.form.config().weights == "auto"
    assert "does not exist" in view.form.weights_refusal.text()
    (tmp_path / "mine.h5").write_bytes(b"x")
    assert not view.form.use_weights_file(str(tmp_path / "mine.h5"))
    assert "mine.h5 is damaged or is not a model file" in view.form.weights_refusal.text()


def write_run(project, run_id, history, accuracy):
    run_dir = project.sidecar / "runs" / run_id
    run_dir.mkdir(parents=True)
    (run_dir / "labels.txt").write_text("a\nb\n")
    (run_dir / "history.json").write_text(json.dumps(history))
    config = {"image_size": 96, "alpha": 0.35, "weights": "imagenet", "fine_tune_epochs": 2}
    project.record_run(run_id, run_dir, config, {"val_accuracy": accuracy, "epochs": 5})


def history(n, fine_tune_start=None):
    return {"epoch": list(range(1, n + 1)), "phase": ["head"] * n,
            "loss": [1 / k for k in range(1, n + 1)], "accuracy": [0.5] * n,
            "val_loss": [1.2 / k for k in range(1, n + 1)], "val_accuracy": [0.4] * n,
            "learning_rate": [1e-3] * n, "fine_tune_start_epoch": fine_tune_start}


def test_past_runs_curves_marker_and_comparison(qtbot, context, tmp_path):
    project = make_project(tmp_path)
    write_run(project, "20260101-100000-aaaa", history(3), 0.5)
    write_run(project, "20260102-100000-bbbb", history(5, fine_tune_start=3), 0.875)
    context.set_project(project)
    view = open_view(qtbot, context)
    assert view.runs.run_ids() == ["20260102-100000-bbbb", "20260101-100000-aaaa"]
    assert view.runs.tree.topLevelItem(0).text(3) == "88%"
    assert "96 px" in view.runs.tree.topLevelItem(0).text(2)
    assert view.runs.selected_run_id() == "20260102-100000-bbbb"  # the newest
    assert points(view, "val_loss")[0] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert view.plots.fine_tune_marker() == 3.5
    assert "88%" in view.plots.caption.text()

    item = view.runs.tree.topLevelItem(1)
    item.setCheckState(0, Qt.CheckState.Checked)
    assert points(view, "compare_val_accuracy")[0] == [1.0, 2.0, 3.0]
    item.setCheckState(0, Qt.CheckState.Unchecked)
    assert points(view, "compare_val_accuracy")[0] == []

    view.runs.tree.setCurrentItem(item)
    assert context.current_run_id == "20260101-100000-aaaa"
    assert view.plots.fine_tune_marker() is None
    context.set_current_run("20260102-100000-bbbb")  # chosen elsewhere (e.g. Evaluate)
    assert view.runs.selected_run_id() == "20260102-100000-bbbb"


def test_live_events_feed_the_curves_once(qtbot):
    plots = TrainPlots()
    qtbot.addWidget(plots)
    curve = plots.batch_loss.curve
    plots.on_event({"type": "phase", "phase": "head"})
    for step in range(1, 5):
        plots.on_event({"type": "batch", "phase": "head", "epoch": 1, "step": step, "steps": 4,
                        "loss": 1.0 / step, "learning_rate": 1e-3})
    plots.on_event({"type": "epoch", "epoch": 1, "epochs": 2, "loss": 0.3, "accuracy": 0.8,
                    "val_loss": 0.4, "val_accuracy": 0.7, "learning_rate": 1e-3})
    plots.on_event({"type": "phase", "phase": "fine_tune"})
    plots.on_event({"type": "batch", "phase": "fine_tune", "epoch": 1, "step": 2, "steps": 4,
                    "loss": 0.2, "learning_rate": 1e-4})
    plots.flush()
    assert plots.batch_loss.curve is curve  # fed with setData, never re-created
    assert TrainPlots.points(plots.batch_loss)[0] == [0.25, 0.5, 0.75, 1.0, 1.5]
    assert TrainPlots.points(plots.val_accuracy) == ([1.0], [0.7])
    assert plots.fine_tune_marker() == 1.5
    for i in range(5000):  # a long training stays a bounded number of points
        plots.on_event({"type": "batch", "epoch": 2 + i, "step": 1, "steps": 1, "loss": 0.1})
    plots.flush()
    assert len(TrainPlots.points(plots.batch_loss)[0]) <= 1500


def test_no_project_disables_everything(qtbot, context):
    view = open_view(qtbot, context)
    assert not view.start_button.isEnabled() and not view.form.isEnabled()
    assert view.start_training() is False
    assert "Open or create a project" in view.data_summary.text()
    assert view.runs.row_count() == 0


def test_failure_is_a_sentence(qtbot, context, tmp_path):
    context.set_project(make_project(tmp_path))
    view = open_view(qtbot, context)
    view.form.set_values(**TINY)
    view.form.set_values(weights=str(tmp_path / "gone.h5"))  # a saved choice whose file went
    assert "does not exist" in view.form.weights_sentence.text()
    with qtbot.waitSignal(view.trainingEnded, timeout=60_000) as ended:
        assert view.start_training()
    assert ended.args == ["failed"]
    assert "gone.h5 does not exist" in view.result.text()
    assert view.plots.caption.text().startswith("This training failed")  # not "Training…"
    assert view.start_button.text() == "Start Training" and view.start_button.isEnabled()
    assert context.project.runs() == []


def test_closing_the_project_while_training_stops_it_quietly(qtbot, context, tmp_path):
    context.set_project(make_project(tmp_path))
    view = open_view(qtbot, context)
    view.form.set_values(epochs=300, **TINY)
    assert view.start_training()
    with qtbot.waitSignal(view.trainingEnded, timeout=60_000):
        context.set_project(None)
    assert not view.is_training() and not view.start_button.isEnabled()
    assert view.result.text() == "" and not view.labels_notice.isVisible()
    assert view.runs.row_count() == 0


def test_runs_list_names_the_start_point_in_words_and_selects_the_best(qtbot, context, tmp_path):
    project = make_project(tmp_path)
    write_run(project, "20260101-100000-aaaa", history(3), 0.9)
    run_dir = project.sidecar / "runs" / "20260102-100000-bbbb"
    run_dir.mkdir(parents=True)
    (run_dir / "labels.txt").write_text("a\nb\n")
    project.record_run("20260102-100000-bbbb", run_dir, {"image_size": 96, "weights": "auto"},
                       {"val_accuracy": 0.4, "pretrained": False})
    context.set_project(project)
    view = open_view(qtbot, context)
    newest, older = (view.runs.tree.topLevelItem(i) for i in range(2))
    assert newest.text(2).startswith("from scratch") and "auto" not in newest.text(2)
    assert older.text(2).startswith("pretrained (ImageNet)")
    for item in (newest, older):
        for column in range(4):
            assert "aaaa" not in item.text(column) + item.toolTip(column)
            assert "bbbb" not in item.text(column) + item.toolTip(column)
    assert view.runs.selected_run_id() == "20260101-100000-aaaa"  # the best, not the newest


def test_from_scratch_settings_say_what_to_expect_before_start(qtbot, context, tmp_path):
    context.set_project(make_project(tmp_path, per_class=8))
    view = open_view(qtbot, context)
    view.form.set_values(weights="auto", image_size=96, alpha=0.35)
    view.refresh_preflight()
    assert not any("From scratch" in text for text in view.problem_texts())
    view.form.set_values(weights="none")
    view.refresh_preflight()
    assert any(text.startswith("From scratch with 8 images per class, expect roughly")
               for text in view.problem_texts())
