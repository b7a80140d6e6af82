"""The Label view's "label less" tools end to end, through the engine: the "Label next" order
(the gallery shows the ranking, U follows it) and the near-duplicate review (groups of
re-saved copies; keep the first and exclude the rest, undoably)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

import mbv2gui.gui  # noqa: F401  (applies the PySide guard in mbv2gui.gui.qtfix)
from mbv2gui.core.runs import record_in_project
from mbv2gui.core.store.near_duplicates import stored_groups
from mbv2gui.core.store.project import Project
from mbv2gui.gui.label.label_tools import LABEL_NEXT
from mbv2gui.gui.label.label_view import LabelView
from mbv2gui.gui.shell.context import AppContext
from mbv2gui.gui.shell.jobrunner import JobRunner
from test_near_duplicates import make_project
from helpers_gui import shown
from tiny_runs import tiny_run


def open_view(qtbot, project):
    context = AppContext()
    context.jobs = JobRunner()
    context.set_project(project)
    return shown(qtbot, LabelView(context), 1000, 650)


def close_view(view):
    for window in (view.tools.map_window, view.tools.duplicates_window):
        if window is not None:
            window.close()
    assert view.context.jobs.shutdown(10.0)
    view.context.set_project(None)
    view.loader.shutdown()
    view.preview.shutdown()


@pytest.fixture
def copies_project(tmp_path):
    path, copies = make_project(tmp_path, per_class=4)
    return Project.open(path), copies


def test_label_next_order_is_shown_and_u_follows_it(qtbot, tmp_path, copies_project):
    project, _copies = copies_project
    images = project.images()
    unlabeled = [im.id for im in images[::2]]
    project.set_labels({i: None for i in unlabeled})
    record_in_project(project.path, tiny_run(tmp_path / "run", project.class_names()))
    view = open_view(qtbot, project)
    try:
        tools = view.tools
        ranked = []
        tools.orderChanged.connect(lambda ids: ranked.append(ids))
        tools.order_combo.setCurrentText(LABEL_NEXT)
        qtbot.waitUntil(lambda: bool(ranked) and ranked[-1] is not None, timeout=120_000)
        order = ranked[-1]
        assert sorted(order) == sorted(unlabeled)
        shown = view.model.shown_ids()
        assert shown[:len(order)] == order  # the queue first, then the labeled images
        assert view.selected_ids() == [order[0]]
        qtbot.keyClick(view.gallery, Qt.Key.Key_U)
        assert view.selected_ids() == [order[1]]  # U follows the order, not the file order
        qtbot.keyClick(view.gallery, Qt.Key.Key_1)  # labels order[1], moves to order[2]
        assert view.selected_ids() == [order[2]]

        tools.order_combo.setCurrentText("As added")
        assert view.model.shown_ids() == sorted(shown)
    finally:
        close_view(view)


def test_duplicate_review_groups_copies_and_keeps_one_undoably(qtbot, copies_project):
    project, copies = copies_project
    view = open_view(qtbot, project)
    try:
        review = view.tools.open_duplicates()
        qtbot.waitUntil(lambda: not review.is_running() and bool(review.result), timeout=60_000)
        names = {im.id: im.path.rsplit("/", 1)[-1] for im in project.images()}
        groups = sorted(sorted(names[i] for i in g) for g in review.groups)
        assert groups == sorted(sorted([o, *c]) for o, c in copies.items())
        assert len(stored_groups(project)) == 2  # saved: the split keeps them together
        assert "2 groups of near-identical images" in review.status.text()

        group = review.groups[0]
        buttons = [b for b in review.rows.findChildren(type(view.tools.map_button))
                   if b.text().startswith("Keep the first")]
        assert len(buttons) == 2
        # The rows are in group order; the first row's button keeps the first image.
        first_row_button = min(buttons, key=lambda b: b.mapTo(review.rows, b.rect().topLeft()).y())
        qtbot.mouseClick(first_row_button, Qt.MouseButton.LeftButton)
        excluded = {im.id for im in project.images() if im.excluded}
        assert excluded == set(group[1:])
        view.context.undo_stack.undo()
        assert not any(im.excluded for im in project.images())

        review.slider.setValue(1000)  # only identical pictures would group at 1.0
        assert review.groups == [] and "No near-identical" in review.status.text()
    finally:
        close_view(view)
