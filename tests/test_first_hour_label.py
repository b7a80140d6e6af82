"""The first hour in the Label view (issue 18): every class reachable from the keyboard, keys
that work wherever the focus is, undo that goes back to the image, the rename wording, and
banners whose Undo says what it takes back and that go away."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, Qt

from mbv2gui.gui.common import notice_bar, undo_commands as commands
from mbv2gui.gui.label.class_palette import matching_classes
from tests.test_label_view import labels, project, view  # noqa: F401  (fixtures)


def select_row(view, row):
    view.gallery.selectionModel().setCurrentIndex(
        view.model.index(row), QItemSelectionModel.SelectionFlag.ClearAndSelect)


def add_classes(view, names):
    for name in names:
        commands.perform(view.context, commands.AddClass(view.context, name))


def test_twelfth_class_by_name_or_number_shown_on_its_badge(view, project, qtbot):
    add_classes(view, [f"kind{n}" for n in range(3, 13)])  # cat, dog, kind3 … kind12
    qtbot.waitUntil(lambda: view.classes.entry("class", project.class_by_name("kind12").id) is not None)
    entry = view.classes.entry("class", project.class_by_name("kind12").id)
    assert entry.data(Qt.ItemDataRole.UserRole + 5) == "12"  # the badge
    assert "press L, type 12" in entry.toolTip()

    select_row(view, 3)
    target = view.model.id_at(3)
    qtbot.keyClick(view.gallery, Qt.Key.Key_L)
    palette = view.palette_popup
    assert palette.isVisible()
    qtbot.keyClicks(palette.edit, "12")
    assert palette.shown_names()[0] == "kind12"
    qtbot.keyClick(palette.edit, Qt.Key.Key_Return)
    assert labels(project)[target] == project.class_by_name("kind12").id
    assert view.gallery.currentIndex().row() == 4  # on to the next, as with the digit keys

    qtbot.keyClick(view.gallery, Qt.Key.Key_L)
    qtbot.keyClicks(view.palette_popup.edit, "nd1")  # a few letters from inside the name
    assert view.palette_popup.shown_names() == ["kind10", "kind11", "kind12"]
    qtbot.keyClick(view.palette_popup.edit, Qt.Key.Key_Down)
    qtbot.keyClick(view.palette_popup.edit, Qt.Key.Key_Return)
    assert labels(project)[view.model.id_at(4)] == project.class_by_name("kind11").id


def test_matching_classes_number_first_then_prefix_then_inside():
    class C:
        def __init__(self, name):
            self.name = name
    classes = [C(n) for n in ("shirt", "t-shirt", "shoe", "sweater")]
    assert [c.name for c in matching_classes(classes, "sh")] == ["shirt", "shoe", "t-shirt"]
    assert [c.name for c in matching_classes(classes, "2")] == ["t-shirt"]
    assert len(matching_classes(classes, "")) == 4


def test_digits_label_after_a_click_in_the_class_panel(view, project, qtbot):
    select_row(view, 4)
    target = view.model.id_at(4)
    view.classes.list.setFocus()  # as after clicking a class in the panel
    qtbot.mouseClick(view.classes.list.viewport(), Qt.MouseButton.LeftButton,
                     pos=view.classes.list.visualItemRect(view.classes.list.item(0)).center())
    assert view.classes.list.hasFocus()
    qtbot.keyClick(view.classes.list, Qt.Key.Key_2)
    assert labels(project)[target] == project.class_by_name("dog").id


def test_undo_selects_the_image_whose_label_was_undone(view, project, qtbot):
    select_row(view, 3)
    target = view.model.id_at(3)
    qtbot.keyClick(view.gallery, Qt.Key.Key_1)
    assert view.gallery.currentIndex().row() == 4
    view.context.undo_stack.undo()
    assert labels(project)[target] is None
    assert view.model.id_at(view.gallery.currentIndex().row()) == target
    assert view.selected_ids() == [target]


def test_rename_reads_old_to_new_in_the_edit_menu(view, project):
    cat = project.class_by_name("cat").id
    commands.perform(view.context, commands.RenameClass(view.context, cat, "outerwear"))
    action = view.context.undo_stack.createUndoAction(view)
    assert action.text() == "Undo Rename class “cat” to “outerwear”"


def test_undo_banner_names_its_command_and_goes_at_the_next_action(view, project, qtbot,
                                                                   monkeypatch):
    stack = view.context.undo_stack
    bar = notice_bar.NoticeBar()
    qtbot.addWidget(bar)
    cat = project.class_by_name("cat").id
    first = commands.SetLabels(view.context, {view.model.id_at(4): cat}, "Import 30 images")
    stack.push(first)
    bar.show_notice("Imported 30 images.", undo=(stack, first))
    assert bar.action_titles() == ["Undo import 30 images"]
    assert bar.isVisible()
    select_row(view, 5)
    qtbot.keyClick(view.gallery, Qt.Key.Key_2)  # the next action: the banner's Undo is stale
    assert not bar.isVisible()

    # Pressed when something newer was done after all, its Undo never undoes the newer thing.
    bar.show_notice("Imported 30 images.", undo=(stack, first))
    bar._watch_stack(None)
    stack.push(commands.SetLabels(view.context, {view.model.id_at(3): cat}, "Label"))
    bar.trigger("Undo import 30 images")
    assert labels(project)[view.model.id_at(3)] == cat


def test_banners_with_actions_go_away_on_their_own(qtbot, monkeypatch):
    monkeypatch.setattr(notice_bar, "AUTO_HIDE_WITH_ACTIONS_MS", 50)
    bar = notice_bar.NoticeBar()
    qtbot.addWidget(bar)
    bar.show_notice("Imported 3 images.", [("Show unreadable", lambda: None)])
    assert bar.isVisible()
    qtbot.waitUntil(lambda: not bar.isVisible(), timeout=2000)
    bar.show_notice("The project file is damaged.", [("Recover…", lambda: None)], level="error")
    qtbot.wait(150)
    assert bar.isVisible()  # a decision to make stays until dismissed


def test_empty_project_gallery_says_the_next_step(qtbot, tmp_path):
    from mbv2gui.core.store.project import Project
    from mbv2gui.gui.label.label_view import LabelView
    from mbv2gui.gui.shell.context import AppContext

    context = AppContext()
    context.set_project(Project.create(tmp_path / "empty.mbv2"))
    widget = LabelView(context)
    qtbot.addWidget(widget)
    assert "Import Folder" in widget.gallery.empty_text
    context.set_project(None)
    widget.loader.shutdown()
    widget.preview.shutdown()
