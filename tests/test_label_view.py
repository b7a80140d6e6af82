"""The Label view driven as a person would: keys, clicks, drops, undo; checked in the store."""

from __future__ import annotations

import os

import pytest
from PIL import Image
from PySide6.QtCore import QItemSelectionModel, QPointF, Qt
from PySide6.QtGui import QColor, QDropEvent

import mbv2gui.gui  # noqa: F401  (applies the PySide guard in mbv2gui.gui.qtfix)
from mbv2gui.core.files.images import content_hash
from mbv2gui.core.store.project import NewImage, Project
from mbv2gui.gui.shell.context import AppContext
from mbv2gui.gui.label.gallery_model import GalleryFilter, ThumbnailRole
from mbv2gui.gui.label.label_view import LabelView
from mbv2gui.gui.common.thumbnail_loader import Unreadable
from helpers_gui import shown

COLORS = [(200, 30, 30), (30, 160, 40), (30, 60, 200), (220, 200, 20), (120, 20, 160), (20, 180, 180)]


def new_image(path, label=None, status="ok", reason=None) -> NewImage:
    stat = os.stat(path)
    return NewImage(str(path), stat.st_size, stat.st_mtime, content_hash(path), 32, 24,
                    status=status, reason=reason, label=label)


@pytest.fixture
def project(tmp_path):
    project = Project.create(tmp_path / "p.mbv2")
    images = []
    for i, color in enumerate(COLORS):
        path = tmp_path / "images" / f"img_{i}.png"
        path.parent.mkdir(exist_ok=True)
        Image.new("RGB", (32, 24), color).save(path)
        images.append(new_image(path, label=("cat" if i < 2 else "dog" if i == 2 else None)))
    project.add_images(images)
    yield project
    project.close()


@pytest.fixture
def view(qtbot, project):
    context = AppContext()
    context.set_project(project)
    widget = shown(qtbot, LabelView(context), 1100, 700)
    yield widget
    context.set_project(None)  # as closing a project does: the view lets go of it
    widget.loader.shutdown()
    widget.preview.shutdown()


def labels(project):
    return {r.id: r.class_id for r in project.images()}


def select_rows(view, rows):
    selection = view.gallery.selectionModel()
    selection.clearSelection()
    for row in rows:
        selection.select(view.model.index(row), QItemSelectionModel.SelectionFlag.Select)
    selection.setCurrentIndex(view.model.index(rows[0]), QItemSelectionModel.SelectionFlag.NoUpdate)


def class_id(project, name):
    return project.class_by_name(name).id


def entry_counts(view):
    panel = view.classes
    return {panel.list.item(r).text(): panel.list.item(r).data(Qt.ItemDataRole.UserRole + 3)
            for r in range(panel.list.count())}


def test_classes_appear_with_counts(view):
    assert entry_counts(view) == {"All images": 6, "Unlabeled": 3, "cat": 2, "dog": 1}
    assert view.model.rowCount() == 6


def test_keys_label_clear_undo_redo(view, project, qtbot):
    cat, dog = class_id(project, "cat"), class_id(project, "dog")
    ids = view.model.shown_ids()
    select_rows(view, [3])
    qtbot.keyClick(view.gallery, Qt.Key.Key_2)
    assert labels(project)[ids[3]] == dog
    assert view.gallery.currentIndex().row() == 4  # one image labeled: on to the next
    select_rows(view, [4, 5])
    qtbot.keyClick(view.gallery, Qt.Key.Key_1)
    assert labels(project)[ids[4]] == labels(project)[ids[5]] == cat
    qtbot.keyClick(view.gallery, Qt.Key.Key_0)
    assert labels(project)[ids[4]] is labels(project)[ids[5]] is None
    view.context.undo_stack.undo()
    assert labels(project)[ids[4]] == cat
    view.context.undo_stack.undo()
    assert labels(project)[ids[4]] is None
    view.context.undo_stack.redo()
    assert labels(project)[ids[5]] == cat
    qtbot.waitUntil(lambda: entry_counts(view)["cat"] == 4)
    assert view.model.data(view.model.index(5), Qt.ItemDataRole.UserRole + 3) == "cat"


def test_digit_without_class_offers_to_add_one(view, project, qtbot, monkeypatch):
    asked = []
    monkeypatch.setattr(view.classes, "ask_text",
                        lambda title, label, default: asked.append(default) or "bird")
    select_rows(view, [5])
    qtbot.keyClick(view.gallery, Qt.Key.Key_3)
    assert asked == ["Class 3"]
    assert labels(project)[view.model.id_at(5)] == class_id(project, "bird")


def test_filters_and_next_unlabeled(view, project, qtbot):
    view.classes.choose("unlabeled")
    assert view.model.rowCount() == 3
    view.classes.choose("class", class_id(project, "cat"))
    assert view.model.rowCount() == 2
    view.classes.choose("all")
    select_rows(view, [0])
    qtbot.keyClick(view.gallery, Qt.Key.Key_U)
    assert view.gallery.currentIndex().row() == 3
    view.show_ids([view.model.id_at(1), view.model.id_at(4)], "Two images")
    assert view.model.rowCount() == 2 and "Two images" in view.caption.text()


def test_class_edits_with_undo(view, project, qtbot, monkeypatch):
    cat, dog = class_id(project, "cat"), class_id(project, "dog")
    panel = view.classes
    monkeypatch.setattr(panel, "ask_text", lambda *a: "kitten")
    panel.choose("class", cat)
    qtbot.keyClick(panel.list, Qt.Key.Key_F2)
    assert project.class_by_name("kitten").id == cat
    assert "kitten" in view.caption.text()
    view.context.undo_stack.undo()
    assert project.class_by_name("cat").id == cat
    monkeypatch.setattr(panel, "ask_color", lambda *a: QColor("#123456"))
    panel.ask_recolor(cat)
    assert project.class_by_name("cat").color == "#123456"
    view.context.undo_stack.undo()
    assert project.class_by_name("cat").color != "#123456"

    before = labels(project)
    monkeypatch.setattr(panel, "choose_option", lambda *a: 0)  # keep the second one: dog
    panel.list.clearSelection()
    for kind_id in (cat, dog):
        panel.entry("class", kind_id).setSelected(True)
    panel.ask_merge()
    assert [c.name for c in project.classes()] == ["dog"]
    assert sum(1 for v in labels(project).values() if v == dog) == 3
    view.context.undo_stack.undo()
    assert labels(project) == before and project.class_by_name("cat").id == cat

    monkeypatch.setattr(panel, "confirm", lambda *a: True)
    panel.choose("class", cat)
    panel.ask_delete(cat)
    assert project.class_by_name("cat") is None
    assert view.model.filter().kind == "all"  # the class shown is gone: show everything
    assert sum(1 for v in labels(project).values() if v is None) == 5
    qtbot.waitUntil(lambda: "cat" not in entry_counts(view))
    view.context.undo_stack.undo()
    assert labels(project) == before and [c.name for c in project.classes()] == ["cat", "dog"]
    qtbot.waitUntil(lambda: entry_counts(view).get("cat") == 2)


def test_drop_on_class_labels(view, project):
    dog = class_id(project, "dog")
    mime = view.model.mimeData([view.model.index(4), view.model.index(5)])
    target = view.classes.list.visualItemRect(view.classes.entry("class", dog)).center()
    drop = QDropEvent(QPointF(target), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    view.classes.list.dropEvent(drop)  # what Qt calls when the drag ends over the class
    assert drop.isAccepted()
    ids = view.model.shown_ids()
    assert labels(project)[ids[4]] == labels(project)[ids[5]] == dog
    view.classes.drop_on(view.classes.entry("unlabeled"), mime)
    assert labels(project)[ids[4]] is None


def test_thumbnails_arrive(view, qtbot):
    def all_loaded():
        return all(view.model.data(view.model.index(r), ThumbnailRole) is not None
                   for r in range(view.model.rowCount()))
    qtbot.waitUntil(all_loaded, timeout=10_000)
    assert not any(isinstance(view.model.data(view.model.index(r), ThumbnailRole), Unreadable)
                   for r in range(view.model.rowCount()))


def test_unreadable_file_shows_cannot_read(view, project, tmp_path, qtbot):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"this is not a picture")
    flagged = tmp_path / "flagged.png"
    Image.new("RGB", (8, 8), (1, 2, 3)).save(flagged)
    ids, _ = project.add_images([new_image(broken),
                                 new_image(flagged, status="unreadable", reason="damaged")])
    view.context.imagesChanged.emit(ids)
    assert view.model.rowCount() == 8  # inserted, not reset
    rows = view.model.row_of_ids()
    qtbot.waitUntil(lambda: isinstance(view.model.data(view.model.index(rows[ids[0]]), ThumbnailRole),
                                       Unreadable), timeout=10_000)
    assert isinstance(view.model.data(view.model.index(rows[ids[1]]), ThumbnailRole), Unreadable)
    # Imported as "ok", found broken when its thumbnail was made: marked, so it is counted
    # with the problems too (issue 13: the counts agree everywhere).
    assert project.image(ids[0]).status == "unreadable"
    view.classes.refresh()
    view.classes.choose("problems")
    assert view.model.shown_ids() == ids


def test_remove_and_incremental_updates(view, project, qtbot, monkeypatch):
    resets = []
    view.model.modelReset.connect(lambda: resets.append(1))
    select_rows(view, [1, 2])
    qtbot.keyClick(view.gallery, Qt.Key.Key_Delete)
    assert project.image_count() == 4 and view.model.rowCount() == 4
    view.context.undo_stack.undo()
    assert project.image_count() == 6 and view.model.rowCount() == 6
    assert view.model.shown_ids() == sorted(view.model.shown_ids())
    assert not resets
    view.model.set_filter(GalleryFilter.everything())


def test_real_window_drop_label_undo_reopen(qtbot, tmp_path):
    """The whole path: drop a folder tree on the window, label with keys, undo, close, reopen."""
    from test_main_window import EXPECTED, drop, make_image_tree, wait_for_import

    from mbv2gui.gui.shell.main_window import MainWindow

    window = MainWindow()
    window.resize(1100, 700)
    window.show()
    qtbot.waitExposed(window)
    path = str(tmp_path / "demo.mbv2")
    assert window.projects.create_project(path)
    drop(window, [make_image_tree(tmp_path)])
    wait_for_import(qtbot, window, EXPECTED)
    view = window.view(0)
    project = window.context.project
    qtbot.waitUntil(lambda: view.model.rowCount() == EXPECTED)
    qtbot.waitUntil(lambda: {"red", "green"} <= set(entry_counts(view)))

    row = next(r for r in range(EXPECTED) if view.model.image_row(r).name == "loose.png")
    loose = view.model.id_at(row)
    select_rows(view, [row])
    first_class = project.classes()[0]
    qtbot.keyClick(view.gallery, Qt.Key.Key_1)
    assert project.image(loose).class_id == first_class.id
    window.menus.undo.trigger()
    assert project.image(loose).class_id is None
    window.menus.redo.trigger()
    select_rows(view, [0])
    qtbot.keyClick(view.gallery, Qt.Key.Key_0)
    cleared = view.model.id_at(0)
    expected = labels(project)
    assert expected[loose] == first_class.id and expected[cleared] is None

    window.menus.close_project.trigger()
    assert window.context.project is None and view.model.rowCount() == 0
    window.projects.open_project(path)
    assert labels(window.context.project) == expected
    assert view.model.rowCount() == EXPECTED
    assert window.runner.shutdown(5.0)
    window.close()


def test_preview_shows_facts_and_pins_split_and_exclusion(view, project, qtbot):
    select_rows(view, [1, 2])
    view.gallery.setCurrentIndex(view.model.index(1))
    select_rows(view, [1, 2])
    preview = view.preview
    assert preview.name.text() == "img_1.png"
    assert "32 × 24 px" in preview.details.text() and "cat" in preview.label.text()
    qtbot.waitUntil(lambda: not preview.area.pixmap.isNull())
    preview.split.activated.emit(preview.split.findData("validation"))
    ids = [view.model.id_at(1), view.model.id_at(2)]
    assert [r.split for r in project.images(ids)] == ["validation", "validation"]
    preview.exclude.click()
    assert all(r.excluded for r in project.images(ids))
    view.context.undo_stack.undo()
    view.context.undo_stack.undo()
    assert [(r.split, r.excluded) for r in project.images(ids)] == [("auto", False)] * 2
