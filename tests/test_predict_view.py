"""The Predict view driven as a person would: drop a few images and read the cards (the same
answers as `mbv2gui predict`), see the heat map, click another class, add an image to the
project and undo it; predict a folder with a broken file into the table, export the CSV, cancel
a big batch. One tiny run is trained once (32 px, alpha 0.35, from scratch, 2 epochs)."""

from __future__ import annotations

import csv
import shutil

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from helpers_images import make_class_tree, make_image
from mbv2gui.core.files.importer import import_paths
from mbv2gui.core.jobs import ignore_events, never_stop
from mbv2gui.core.inference.predict import expand_paths, predict_files
from mbv2gui.core.inference.prediction_jobs import load_preview
from mbv2gui.core.store.project import Project
from mbv2gui.core.runs import Run
from mbv2gui.gui.shell.context import AppContext
from mbv2gui.gui.shell.jobrunner import JobRunner
from mbv2gui.gui.predict.predict_view import BATCH, CARDS, EMPTY, THRESHOLD_KEY, PredictView
from helpers_gui import shown

WAIT = 90_000  # ms; a generous bound for a job on a busy 2-core machine, not a timing check


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(project file, run folder, folder of new images the project does not hold)."""
    from mbv2gui.core.training.config import TrainConfig
    from mbv2gui.core.training.train import train

    root = tmp_path_factory.mktemp("predict_view")
    make_class_tree(root / "photos", per_class=6, size=32)
    project = Project.create(root / "tiny.mbv2")
    import_paths(project.path, root / "photos", ignore_events, never_stop)
    config = TrainConfig(image_size=32, alpha=0.35, weights="none", epochs=2, batch_size=8,
                         val_split=0.25, seed=0)
    run = train(project, config, ignore_events, never_stop)
    project.close()
    new = make_class_tree(root / "new", per_class=2, size=32, formats=("png",))
    # Distinct from the training files (other seeds): the project does not hold these yet.
    for name, paths in new.items():
        for i, path in enumerate(paths):
            color = {"red": (210, 40, 40), "blue": (40, 60, 210), "green": (40, 180, 60)}[name]
            shape = {"red": "circle", "blue": "square", "green": "cross"}[name]
            make_image(color, shape, 32, seed=5000 + 10 * i + len(name)).save(path)
    return root / "tiny.mbv2", run.run_dir, root / "new"


@pytest.fixture
def context(trained, tmp_path):
    project_file, _run_dir, _new = trained
    copy = tmp_path / "copy.mbv2"
    shutil.copy(project_file, copy)  # each test edits its own copy (the runs are shared)
    context = AppContext()
    context.jobs = JobRunner()
    context.set_project(Project.open(copy))
    yield context
    context.jobs.shutdown(10.0)
    context.set_project(None)


def open_view(qtbot, context):
    return shown(qtbot, PredictView(context), 1100, 760)


def new_images(trained) -> list[str]:
    return sorted(str(p) for p in trained[2].rglob("*.png"))


def expected_rows(trained, paths):
    """What `mbv2gui predict` answers for the same files (the core function it runs)."""
    return predict_files(Run.load(trained[1]), paths, top_k=3)


def drop(view, paths) -> QDropEvent:
    """Drags `paths` over the view and drops them there, as a file manager would."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    center = view.rect().center()
    enter = QDragEnterEvent(center, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(view, enter)
    assert enter.isAccepted()
    event = QDropEvent(QPointF(center), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(view, event)
    assert event.isAccepted()
    return event


def plain_pixels(card) -> np.ndarray:
    image = card.shown_image().convertToFormat(card.shown_image().Format.Format_RGB888)
    bits = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return bits[:, :image.width() * 3].reshape(image.height(), image.width(), 3)


def test_cards_answer_like_predict_and_show_heat_maps(qtbot, context, trained):
    view = open_view(qtbot, context)
    assert view.pages.currentIndex() == EMPTY and view.empty_page.title.text() == "Drop images here"
    paths = new_images(trained)[:4]
    with qtbot.waitSignal(view.predictionsShown, timeout=WAIT):
        view.predict_paths(paths)
    assert view.pages.currentIndex() == CARDS
    expected = expected_rows(trained, paths)
    assert [card.path for card in view.cards] == paths
    for card, row in zip(view.cards, expected):
        assert card.top_labels() == [name for name, _p in row["top_k"]]
        assert card.confidences() == pytest.approx([p for _n, p in row["top_k"]], abs=1e-5)
        assert card.headline.text() == row["label"]
        assert card.confidence_label.text() == f"{row['confidence']:.0%}"
        # the heat map over the picture, at the image's own size
        assert card.showing_heatmap()
        assert card.heatmap.shape == (32, 32) and 0 <= card.heatmap.min() <= card.heatmap.max() <= 1
        assert (card.shown_image().width(), card.shown_image().height()) == (32, 32)
        assert card.heatmap_class == view.run.class_names.index(row["label"])
        assert not np.array_equal(plain_pixels(card), load_preview(card.path))
        assert card.bars[0].selected and card.hint.text().startswith(f"Heat map for “{row['label']}”")

    # The heat map off: the picture is the file's own pixels; on again: the overlay.
    view.heatmap_check.setChecked(False)
    card = view.cards[0]
    assert np.array_equal(plain_pixels(card), load_preview(card.path))
    qtbot.waitUntil(lambda: context.project.setting("predict.heatmap") is False, timeout=5000)
    view.heatmap_check.setChecked(True)
    view.opacity_slider.setValue(100)  # the colormap alone
    from mbv2gui.core.inference.gradcam import colormap

    assert np.array_equal(plain_pixels(card), colormap(card.heatmap))

    # "Uncertain" follows the threshold, which is remembered in the project.
    view.threshold_slider.setValue(99)
    qtbot.waitUntil(lambda: context.project.setting(THRESHOLD_KEY) == pytest.approx(0.99),
                    timeout=5000)
    for card, row in zip(view.cards, expected):
        assert card.is_uncertain() == (row["confidence"] < 0.99)
        assert card.badge.isVisible() == card.is_uncertain()
    view.threshold_slider.setValue(1)
    assert not any(card.is_uncertain() for card in view.cards)
    qtbot.waitUntil(lambda: context.project.setting(THRESHOLD_KEY) == pytest.approx(0.01),
                    timeout=5000)
    assert PredictView(context).threshold_slider.value() == 1  # a new view reads the setting

    # Clicking the second class's bar recomputes the heat map for that class.
    card = view.cards[0]
    other = card.bars[1]
    qtbot.mouseClick(other, Qt.MouseButton.LeftButton)
    assert card.pending_class == other.class_index
    qtbot.waitUntil(lambda: card.heatmap_class == other.class_index and card.pending_class is None,
                    timeout=WAIT)
    from mbv2gui.core.inference.gradcam import gradcam

    direct = gradcam(Run.load(trained[1]).load_model(), load_preview(card.path), other.class_index)
    assert np.allclose(card.heatmap, direct.heatmap, atol=1e-4)
    assert other.selected and not card.bars[0].selected
    assert card.label_combo.currentText() == other.name  # the correction is preselected


def test_a_drop_of_files_makes_cards_and_a_folder_the_table(qtbot, context, trained, tmp_path):
    view = open_view(qtbot, context)
    paths = new_images(trained)[:2]
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"this is not a JPEG at all")
    dropped = paths + [str(broken)]
    with qtbot.waitSignal(view.predictionsShown, timeout=WAIT):
        drop(view, dropped)
    assert [card.path for card in view.cards] == dropped
    expected = expected_rows(trained, paths)
    for card, row in zip(view.cards, expected):
        assert card.top_labels() == [n for n, _p in row["top_k"]]
        assert card.confidences() == pytest.approx([p for _n, p in row["top_k"]], abs=1e-5)
    bad = view.cards[2]
    assert bad.is_error() and "broken.jpg" in bad.error_label.text()
    assert "1 could not be read" in view.cards_caption.text()

    folder = tmp_path / "folder"
    folder.mkdir()
    shutil.copy(paths[0], folder / "a.png")
    with qtbot.waitSignal(view.batch.batchEnded, timeout=WAIT) as ended:
        drop(view, [folder])
    assert ended.args == ["finished"]
    assert view.pages.currentIndex() == BATCH
    assert [r["path"] for r in view.batch.rows()] == [str(folder / "a.png")]


def test_batch_folder_with_a_broken_file_table_and_csv(qtbot, context, trained, tmp_path):
    folder = tmp_path / "to_predict"
    make_class_tree(folder, per_class=3, size=32)
    (folder / "x.jpg").write_bytes(b"\x00garbage bytes, not an image\xff" * 10)
    view = open_view(qtbot, context)
    with qtbot.waitSignal(view.batch.batchEnded, timeout=WAIT) as ended:
        view.predict_paths([str(folder)])
    assert ended.args == ["finished"]
    assert view.pages.currentIndex() == BATCH
    paths = expand_paths([str(folder)])
    expected = expected_rows(trained, paths)
    rows = view.batch.rows()
    assert [r["path"] for r in rows] == paths and len(rows) == 10
    for got, want in zip(rows, expected):
        assert got["label"] == want["label"] and got["error"] == want["error"]
        if want["confidence"] is not None:
            assert got["confidence"] == pytest.approx(want["confidence"], abs=1e-5)
    model = view.batch.model
    broken = next(i for i, r in enumerate(rows) if r["path"].endswith("x.jpg"))
    assert model.index(broken, 0).data() == "x.jpg"
    assert model.index(broken, 1).data() == "" and model.index(broken, 2).data() == ""
    assert model.index(broken, 3).data().startswith("It is not an image file")  # the reason
    assert model.index(broken, 3).data(Qt.ItemDataRole.ToolTipRole) == rows[broken]["error"]
    assert "1 file could not be read" in view.batch.summary.text()
    assert view.batch.export_button.isEnabled() and not view.batch.cancel_button.isVisible()

    # Sorting by confidence, highest first; the unreadable file goes last.
    view.batch.table.sortByColumn(2, Qt.SortOrder.DescendingOrder)
    proxy = view.batch.proxy
    shown = [proxy.index(i, 2).data(Qt.ItemDataRole.UserRole) for i in range(proxy.rowCount())]
    assert shown == sorted(shown, reverse=True) and shown[-1] == -1.0

    # A double-click on a row shows that image as a card; "All Results" goes back.
    first = proxy.index(0, 0)
    with qtbot.waitSignal(view.predictionsShown, timeout=WAIT):
        view.batch.table.doubleClicked.emit(first)
    assert view.pages.currentIndex() == CARDS
    assert [card.path for card in view.cards] == [proxy.index(0, 0).data(Qt.ItemDataRole.UserRole)]
    assert view.back_button.isVisible()
    view.back_button.click()
    assert view.pages.currentIndex() == BATCH and len(view.batch.rows()) == 10

    out = tmp_path / "predictions.csv"
    assert view.batch.export_csv(str(out)) == str(out)
    with open(out, newline="", encoding="utf-8") as handle:
        lines = list(csv.reader(handle))
    assert lines[0] == ["path", "label", "confidence", "label_1", "confidence_1", "label_2",
                        "confidence_2", "label_3", "confidence_3", "error"]
    assert [line[0] for line in lines[1:]] == paths  # the predicted order, not the sorted one
    for line, want in zip(lines[1:], expected):
        assert line[1] == (want["label"] or "")
        if want["error"]:
            assert line[2] == "" and "x.jpg" in line[-1]
        else:
            assert float(line[2]) == pytest.approx(want["confidence"], abs=1e-5)
            assert line[-1] == ""


def test_cancel_ends_a_big_batch(qtbot, context, tmp_path):
    folder = tmp_path / "many"
    make_class_tree(folder, per_class=100, size=32, formats=("png",))
    view = open_view(qtbot, context)
    with qtbot.waitSignal(view.batch.batchEnded, timeout=WAIT) as ended:
        view.predict_paths([str(folder)])
        assert view.batch.is_running() and view.batch.cancel_button.isVisible()
        view.batch.cancel_button.click()
    assert ended.args == ["cancelled"]
    assert not view.batch.is_running() and not view.batch.cancel_button.isVisible()
    assert view.batch.summary.text().startswith("Cancelled after")
    assert len(view.batch.rows()) < 300
    assert not context.jobs.running_jobs()


def test_add_to_project_with_a_corrected_label_and_undo(qtbot, context, trained):
    project = context.project
    view = open_view(qtbot, context)
    path = new_images(trained)[0]
    with qtbot.waitSignal(view.predictionsShown, timeout=WAIT):
        view.predict_paths([path])
    card = view.cards[0]
    before = project.image_count()
    assert not card.added_label.isVisible()
    corrected = next(n for n in project.class_names() if n != card.row["label"])
    card.choose_label(corrected)
    with qtbot.waitSignal(context.imagesChanged, timeout=1000):
        qtbot.mouseClick(card.add_button, Qt.MouseButton.LeftButton)
    assert project.image_count() == before + 1
    record = project.image(project.find_by_hash(card.row["content_hash"]))
    assert record.path == path and record.class_id == project.class_by_name(corrected).id
    assert card.added_label.isVisible() and corrected in card.added_label.text()
    assert view.notice.action_titles()[0].startswith("Undo add")

    context.undo_stack.undo()
    assert project.image_count() == before
    assert project.find_by_hash(card.row["content_hash"]) is None
    assert not card.added_label.isVisible()
    context.undo_stack.redo()
    assert project.image(project.find_by_hash(card.row["content_hash"])).class_id == \
        project.class_by_name(corrected).id
    context.undo_stack.undo()

    # A new class name typed in the combo makes the class; undo takes both back.
    card.choose_label("purple")
    card.add_button.click()
    assert project.class_by_name("purple") is not None and project.image_count() == before + 1
    context.undo_stack.undo()
    assert project.class_by_name("purple") is None and project.image_count() == before

    # An image the project already holds is relabeled, not added twice.
    known = project.images()[0]
    view.predict_paths([known.path])
    qtbot.waitUntil(lambda: bool(view.cards) and view.cards[0].path == known.path, timeout=WAIT)
    card = view.cards[0]
    old = project.class_names()[[c.id for c in project.classes()].index(known.class_id)]
    assert card.added_label.isVisible() and old in card.added_label.text()
    other = next(n for n in project.class_names() if n != old)
    card.choose_label(other)
    card.add_button.click()
    assert project.image_count() == before
    assert project.image(known.id).class_id == project.class_by_name(other).id
    context.undo_stack.undo()
    assert project.image(known.id).class_id == known.class_id


def test_run_selector_follows_and_sets_the_current_run(qtbot, context, trained):
    project = context.project
    run_dir = trained[1]
    second = run_dir.parent / "second-run"
    if not second.exists():
        shutil.copytree(run_dir, second)
    project.record_run("second-run", second, {"image_size": 32}, {"val_accuracy": 0.5})
    view = open_view(qtbot, context)
    assert view.run_combo.count() == 2
    context.set_current_run("second-run")
    assert view.run.run_id == "second-run"
    assert view.run_combo.currentData() == "second-run"
    first = view.run_combo.findData(run_dir.name)
    view.run_combo.setCurrentIndex(first)
    view.run_combo.activated.emit(first)
    assert context.current_run_id == run_dir.name and view.run.run_id == run_dir.name


def test_without_a_run_it_says_what_to_do(qtbot, tmp_path):
    context = AppContext()
    context.jobs = JobRunner()
    context.set_project(Project.create(tmp_path / "empty.mbv2"))
    try:
        view = open_view(qtbot, context)
        assert view.empty_page.title.text() == "No trained model yet"
        assert not view.images_button.isEnabled()
        view.predict_paths([str(tmp_path)])
        assert "Train" in view.notice.text()
        assert not context.jobs.running_jobs()
    finally:
        context.set_project(None)


def test_the_view_never_loads_tensorflow_on_the_gui_thread(trained, tmp_path):
    """Building the view, choosing the run and reading its files must not import TensorFlow
    (it would freeze the window for seconds); only the jobs do."""
    import subprocess
    import sys
    import textwrap

    copy = tmp_path / "copy.mbv2"
    shutil.copy(trained[0], copy)
    script = textwrap.dedent(f"""
        import sys
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from mbv2gui.core.store.project import Project
        from mbv2gui.gui.shell.context import AppContext
        from mbv2gui.gui.shell.jobrunner import JobRunner
        from mbv2gui.gui.predict.predict_view import PredictView
        context = AppContext()
        context.jobs = JobRunner()
        context.set_project(Project.open({str(copy)!r}))
        view = PredictView(context)
        view.show()
        assert view.run is not None and view.run.class_names == ["blue", "green", "red"]
        print("tensorflow" in sys.modules, "keras" in sys.modules)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120, env={**__import__("os").environ,
                                              "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]


def test_ten_thousand_rows_arrive_in_chunks_and_export(qtbot, tmp_path):
    """The table takes a big batch as the job streams it (no widget per row) and exports every
    row in the predicted order, also while sorted."""
    from mbv2gui.gui.predict.batch_results import BatchResults

    results = BatchResults(AppContext())
    qtbot.addWidget(results)
    results.show()
    results.table.sortByColumn(2, Qt.SortOrder.AscendingOrder)
    rng = np.random.default_rng(0)
    rows = [{"path": f"/photos/img{i:05d}.jpg", "label": "red", "confidence": float(p),
             "top_k": [("red", float(p)), ("blue", float(1 - p))], "error": None}
            for i, p in enumerate(rng.uniform(0.34, 1.0, 10_000))]
    for start in range(0, len(rows), 128):
        results._on_event({"type": "rows", "start": start, "rows": rows[start:start + 128]})
    assert results.model.rowCount() == results.proxy.rowCount() == 10_000
    shown = [results.proxy.index(i, 2).data(Qt.ItemDataRole.UserRole) for i in (0, 5000, 9999)]
    assert shown == sorted(shown)
    results.top_k = 2
    out = tmp_path / "all.csv"
    results.export_csv(str(out))
    with open(out, newline="", encoding="utf-8") as handle:
        lines = list(csv.reader(handle))
    assert len(lines) == 10_001 and lines[1][0] == "/photos/img00000.jpg"
    assert lines[-1][0] == "/photos/img09999.jpg"


def test_the_run_combo_defaults_to_the_best_run_not_the_newest(qtbot, tmp_path):
    from mbv2gui.core.training.config import TrainConfig

    context = AppContext()
    context.jobs = JobRunner()
    project = Project.create(tmp_path / "best.mbv2")
    for run_id, accuracy in (("20261206-010000-good", 0.9), ("20261206-020000-weak", 0.4)):
        run = Run(tmp_path / run_id, TrainConfig(image_size=32, weights="none"), ["a", "b"], {},
                  {"val_accuracy": accuracy, "pretrained": False})
        run.save()  # no model: choosing a run reads only its small files
        project.record_run(run_id, run.run_dir, run.config.to_dict(), run.metrics)
    context.set_project(project)
    try:
        view = open_view(qtbot, context)
        assert view.run.run_id == "20261206-010000-good"
        assert view.run_combo.currentData() == "20261206-010000-good"
        assert view.run_combo.currentText().endswith("— from scratch, 90%")
        assert "good" not in view.run_combo.currentText()
    finally:
        context.jobs.shutdown(5.0)
        context.set_project(None)
