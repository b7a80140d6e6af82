"""Suggested labels in the Label view, as a person uses them: with a trained run and unlabeled
images the strip offers "Suggest labels"; the gallery then shows each suggestion on its tile;
"Accept" labels the confident ones in one undoable step."""

from __future__ import annotations

from PySide6.QtCore import Qt

from helpers_images import make_class_tree
from mbv2gui.core.files.importer import import_paths
from mbv2gui.core.jobs import ignore_events, never_stop
from mbv2gui.core.store.project import Project
from mbv2gui.core.training.config import TrainConfig
from mbv2gui.core.training.train import train
from mbv2gui.gui.label.gallery_model import LabelRole
from mbv2gui.gui.shell.main_window import LABEL, MainWindow


def test_suggest_show_accept_and_undo(qtbot, tmp_path):
    make_class_tree(tmp_path / "photos", ["red", "blue"], per_class=6, size=32)
    project = Project.create(tmp_path / "s.mbv2")
    import_paths(project.path, tmp_path / "photos", ignore_events, never_stop)
    unlabeled = [image.id for image in project.images() if image.path.endswith(("_004.png",
                                                                                "_005.jpg"))]
    assert len(unlabeled) == 4
    project.set_labels({image_id: None for image_id in unlabeled})
    project.close()
    train(tmp_path / "s.mbv2", TrainConfig(image_size=32, alpha=0.35, weights="none",
                                            epochs=2, batch_size=4))

    window = MainWindow()
    window.resize(1100, 700)
    window.show()
    qtbot.waitExposed(window)
    try:
        window.projects.open_project(str(tmp_path / "s.mbv2"))
        view = window.view(LABEL)
        bar = view.suggestions
        qtbot.waitUntil(bar.isVisible)
        assert "4 images without a label" in bar.text.text()
        # Two epochs from scratch on 8 images: the bar says the model is not to be trusted,
        # and suggesting is still possible, on purpose.
        weak = bar.weak_model_sentence()
        assert weak and weak in bar.text.text()
        assert bar.suggest.text() == "Suggest anyway" and not bar.accept.isVisible()

        qtbot.mouseClick(bar.suggest, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not bar.is_running(), timeout=60_000)
        suggestions = bar.suggestions()
        assert sorted(suggestions) == sorted(unlabeled)
        assert bar.accept.isVisible() and weak in bar.text.text()
        # Each unlabeled tile shows its suggestion; labeled tiles show their class as before.
        tooltips = {view.model.id_at(r): view.model.data(view.model.index(r),
                                                         Qt.ItemDataRole.ToolTipRole)
                    for r in range(view.model.rowCount())}
        for image_id in unlabeled:
            label, confidence = suggestions[image_id]
            assert f"Suggested by the model: {label} ({confidence:.0%})" in tooltips[image_id]
            row = view.model.image_row(view.model.row_of_ids()[image_id])
            assert view.model.suggestion(row) == (label, confidence)
        view.gallery.viewport().grab()  # paints the dashed chips without error

        project = window.context.project
        assert bar.apply_threshold(0.0) == 4
        names = {c.id: c.name for c in project.classes()}
        labels = {image.id: names[image.class_id] for image in project.images(unlabeled)}
        assert labels == {i: suggestions[i][0] for i in unlabeled}
        qtbot.waitUntil(lambda: not bar.isVisible())  # nothing is unlabeled any more
        row = view.model.row_of_ids()[unlabeled[0]]
        assert view.model.data(view.model.index(row), LabelRole) == labels[unlabeled[0]]

        window.context.undo_stack.undo()
        assert all(image.class_id is None for image in project.images(unlabeled))
        qtbot.waitUntil(bar.isVisible)
        assert bar.accept.isVisible()
    finally:
        assert window.runner.shutdown(10.0)
        window.close()
