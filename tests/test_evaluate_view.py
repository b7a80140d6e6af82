"""The Evaluate view driven as a person would: click a confusion-matrix cell, find exactly its
images in the gallery, relabel one by key, see the numbers go stale.

The view-only tests use a run folder written by hand (known predictions, so the expected
images are known); one test trains a tiny real run with the engine and clicks into it."""

import json

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from mbv2gui.core.inference import evaluation as ev
from mbv2gui.core.files.importer import import_paths
from mbv2gui.core.jobs import ignore_events, never_stop
from mbv2gui.core.store.project import Project
from mbv2gui.gui.shell.context import AppContext
from mbv2gui.gui.evaluate.evaluate_view import EvaluateView
from mbv2gui.gui.shell.jobrunner import JobRunner
from helpers_gui import shown

COLORS = {"red": (220, 40, 40), "green": (40, 180, 60), "blue": (40, 60, 220)}
PER_CLASS = 4


def make_folder(root, per_class=PER_CLASS, size=(32, 32)):
    rng = np.random.default_rng(0)
    for name, color in COLORS.items():
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = np.clip(np.array(color) + rng.normal(0, 12, (*size, 3)), 0, 255)
            Image.fromarray(pixels.astype(np.uint8)).save(root / name / f"{name}{i}.png")
    return root


def make_project(tmp_path):
    folder = make_folder(tmp_path / "photos")
    project = Project.create(tmp_path / "p.mbv2")
    import_paths(project.path, folder, ignore_events, never_stop)
    return project


def hand_made_run(project, wrong):
    """A run whose predictions are right except for `wrong`: {(class, i): (predicted class,
    confidence)}. Every image is in the validation split."""
    names = project.class_names()
    rows = []
    for image in project.labeled_images():
        true = names.index(image.label)
        i = int(image.path[-5])  # red3.png -> 3
        predicted, confidence = wrong.get((image.label, i), (image.label, 0.9))
        predicted = names.index(predicted)
        probabilities = np.full(len(names), (1 - confidence) / (len(names) - 1))
        probabilities[predicted] = confidence
        rows.append({"path": image.path, "content_hash": image.content_hash, "true": true,
                     "split": "validation", "probabilities": probabilities.tolist()})
    run_dir = project.sidecar / "runs" / "r1"
    run_dir.mkdir(parents=True)
    (run_dir / "labels.txt").write_text("\n".join(names) + "\n")
    (run_dir / "predictions.json").write_text(json.dumps(rows))
    for name, value in (("config.json", {"image_size": 32}), ("history.json", {}),
                        ("metrics.json", {"val_accuracy": 0.75})):
        (run_dir / name).write_text(json.dumps(value))
    project.record_run("r1", run_dir, {"image_size": 32}, {"val_accuracy": 0.75})
    return run_dir


@pytest.fixture
def context(qtbot, tmp_path):
    context = AppContext()
    context.jobs = JobRunner()
    context.set_project(make_project(tmp_path))
    yield context
    context.jobs.shutdown(5.0)
    context.set_project(None)


# red 1 and red 3 are taken for green (red3 more confidently); green 0 for blue
WRONG = {("red", 1): ("green", 0.7), ("red", 3): ("green", 0.95), ("green", 0): ("blue", 0.6)}
BLUE, GREEN, RED = 0, 1, 2  # the importer makes classes in folder-name order


def open_view(qtbot, context):
    return shown(qtbot, EvaluateView(context), 1100, 700)


def gallery_paths(view):
    return [item.path.rsplit("/", 1)[-1] for item in view.gallery.model().items()]


def test_click_cell_shows_exactly_its_images_and_relabel_goes_stale(qtbot, context):
    hand_made_run(context.project, WRONG)
    view = open_view(qtbot, context)
    assert view.evaluation.accuracy == pytest.approx(9 / 12)
    assert view.matrix.class_count() == 3
    qtbot.mouseClick(view.matrix, Qt.MouseButton.LeftButton, pos=view.matrix.cell_rect(RED, GREEN).center())
    assert gallery_paths(view) == ["red3.png", "red1.png"]  # most confident mistake first
    assert view.gallery.model().item(0).lines == ("predicted: green", "true: red", "95% sure")
    assert not view.stale_banner.isVisible()

    view.gallery.setFocus()
    view.gallery.setCurrentIndex(view.gallery.model().index(0))
    red3 = view.gallery.model().item(0).image_id
    qtbot.keyClick(view.gallery, Qt.Key.Key_2)  # the second class: green
    assert context.project.image(red3).class_id == context.project.class_by_name("green").id
    assert view.stale and view.stale_banner.isVisible()
    assert "Retrain" in view.stale_banner.action_titles()
    with qtbot.waitSignal(view.retrainRequested, timeout=1000):
        view.stale_banner.trigger("Retrain")
    assert "now: green" in view.gallery.model().item(0).lines
    context.undo_stack.undo()
    assert context.project.image(red3).class_id == context.project.class_by_name("red").id

    qtbot.keyClick(view.gallery, Qt.Key.Key_X)
    assert context.project.image(red3).excluded

    from mbv2gui.gui.evaluate.review_gallery import LargeImageDialog

    qtbot.keyClick(view.gallery, Qt.Key.Key_Return)  # open large: decoded in a job
    dialog = view.gallery.findChild(LargeImageDialog)
    qtbot.waitUntil(lambda: dialog.image_label.pixmap() is not None
                    and not dialog.image_label.pixmap().isNull(), timeout=5000)
    dialog.close()


def test_row_and_column_labels_and_filters(qtbot, context):
    hand_made_run(context.project, WRONG)
    view = open_view(qtbot, context)
    matrix = view.matrix
    qtbot.mouseClick(matrix, Qt.MouseButton.LeftButton, pos=matrix.row_label_rect(RED).center())
    assert gallery_paths(view)[:2] == ["red3.png", "red1.png"] and len(gallery_paths(view)) == 4
    qtbot.mouseClick(matrix, Qt.MouseButton.LeftButton, pos=matrix.column_label_rect(BLUE).center())
    assert gallery_paths(view)[0] == "green0.png" and len(gallery_paths(view)) == 5
    qtbot.mouseClick(matrix, Qt.MouseButton.LeftButton, pos=matrix.cell_rect(BLUE, RED).center())
    assert gallery_paths(view) == []

    view.show_filter("Misclassified")
    assert gallery_paths(view) == ["red3.png", "red1.png", "green0.png"]
    view.show_filter("Low confidence", threshold=0.8)
    assert gallery_paths(view) == ["green0.png", "red1.png"]
    assert "less than 80%" in view.caption.text()
    tip = matrix.tooltip_text(matrix.cell_rect(RED, GREEN).center())
    assert tip.startswith("True “red”, predicted “green”: 2 images (50.0%")


def test_reopened_run_with_changed_labels_is_stale(qtbot, context):
    hand_made_run(context.project, WRONG)
    project = context.project
    red0 = next(i.id for i in project.labeled_images() if i.path.endswith("red0.png"))
    project.set_labels({red0: project.class_by_name("blue").id})
    view = open_view(qtbot, context)
    assert view.stale and view.stale_banner.isVisible()


def test_no_run_says_what_to_do(qtbot, context):
    view = open_view(qtbot, context)
    assert view.evaluation is None
    assert "train" in view.summary.text().lower()


@pytest.mark.slow
def test_real_tiny_run_click_relabel_and_mislabeled(qtbot, tmp_path_factory, tmp_path):
    """A run trained by the real engine: the gallery of a clicked cell holds exactly that
    cell's images; the likely-mislabeled search runs as a job and Enter accepts a suggestion."""
    pytest.importorskip("mbv2gui.core.training.train")
    from test_mislabeled import tiny_trained_project

    project_file, _run_dir, _flipped, _folder = tiny_trained_project(tmp_path_factory, tmp_path)
    context = AppContext()
    context.jobs = JobRunner()
    context.set_project(Project.open(project_file))
    try:
        view = open_view(qtbot, context)
        evaluation = view.evaluation
        assert evaluation is not None and evaluation.total > 0
        n = len(evaluation.class_names)
        off = [(i, j) for i in range(n) for j in range(n) if i != j]
        i, j = max(off, key=lambda cell: evaluation.confusion[cell])  # a non-empty one if any
        qtbot.mouseClick(view.matrix, Qt.MouseButton.LeftButton, pos=view.matrix.cell_rect(i, j).center())
        expected = [p.path for p in ev.cell_members(evaluation, i, j)]
        assert [item.path for item in view.gallery.model().items()] == expected
        a, b = np.unravel_index(np.argmax(evaluation.confusion), evaluation.confusion.shape)
        qtbot.mouseClick(view.matrix, Qt.MouseButton.LeftButton, pos=view.matrix.cell_rect(a, b).center())
        assert len(view.gallery.model().items()) == evaluation.confusion[a, b] > 0
        view.gallery.setFocus()
        image_id = view.gallery.model().item(0).image_id
        other = (a + 1) % n  # a class the image does not have: the key is its position + 1
        qtbot.keyClick(view.gallery, str(other + 1))
        assert context.project.image(image_id).class_id == context.project.classes()[other].id
        assert view.stale_banner.isVisible()

        panel = view.mislabeled
        view.tabs.setCurrentWidget(panel)
        with qtbot.waitSignal(panel.searchFinished, timeout=60_000) as found:
            panel.find_button.click()
        assert found.args[0] == panel.gallery.model().rowCount() > 0
        first = panel.gallery.model().item(0)
        panel.gallery.setFocus()
        panel.gallery.setCurrentIndex(panel.gallery.model().index(0))
        qtbot.keyClick(panel.gallery, Qt.Key.Key_Return)
        assert context.project.image(first.image_id).class_id == \
            context.project.class_by_name(first.payload.suggested).id
        assert first not in panel.gallery.model().items()
    finally:
        context.jobs.shutdown(5.0)
        context.set_project(None)


def test_likely_mislabeled_explains_a_weak_model_and_holds_its_list_back(qtbot, context):
    from mbv2gui.core.inference.mislabeled import MislabeledResult, Suspect

    hand_made_run(context.project, WRONG)  # 75% on 12 validation images: unsure
    view = open_view(qtbot, context)
    panel = view.mislabeled
    assert panel.status.text().startswith("On images it did not train on, this model is right")
    assert "Only 12 validation images" in panel.status.text()
    assert panel.find_button.text() == "Look anyway"
    image = context.project.labeled_images()[0]
    held = [Suspect(image.id, image.path, image.content_hash, image.label, "blue", 0.7, 0.3, 0.4)]
    panel._on_finished(MislabeledResult([], held, 0.35, 12, True))  # what the job answers
    assert panel.gallery.model().rowCount() == 0
    assert "too weak to judge the labels" in panel.status.text()
    assert panel.show_anyway_button.isVisibleTo(panel)
    panel.show_anyway_button.click()
    assert [item.image_id for item in panel.gallery.model().items()] == [image.id]
    assert not panel.show_anyway_button.isVisibleTo(panel)


def test_a_card_relabelled_while_its_check_ran_shows_the_new_label(qtbot, context):
    from mbv2gui.core.inference.mislabeled import MislabeledResult, Suspect
    from mbv2gui.gui.common.undo_commands import SetLabels

    hand_made_run(context.project, WRONG)
    view = open_view(qtbot, context)
    panel = view.mislabeled
    project = context.project
    image = next(i for i in project.labeled_images() if i.label == "red")
    suspect = Suspect(image.id, image.path, image.content_hash, "red", "green", 0.9, 0.1, 0.8)
    # Relabelled while the check was running: the job's answer still says "red".
    context.undo_stack.push(SetLabels(context, {image.id: project.class_by_name("blue").id}))
    panel._on_finished(MislabeledResult([suspect], [], 0.1, 12, False))
    lines = panel.gallery.model().items()[0].lines
    assert lines[0] == "labeled blue"
    # And relabelled after the list is shown, by any view: the card follows.
    context.undo_stack.undo()
    assert panel.gallery.model().items()[0].lines[0] == "labeled red"
