"""The map of the data, driven as a person would: open it from the Label view, drag a lasso
round some dots, and the gallery shows exactly the images inside, selected, so one key labels
them all, in one undo step."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QPolygonF
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

import mbv2gui.gui  # noqa: F401  (applies the PySide guard in mbv2gui.gui.qtfix)
from mbv2gui.core.files.importer import import_paths
from mbv2gui.core.jobs import ignore_events, never_stop
from mbv2gui.core.store.project import Project
from mbv2gui.gui.label.label_view import LabelView
from mbv2gui.gui.shell.context import AppContext
from mbv2gui.gui.shell.jobrunner import JobRunner
from helpers_gui import shown


@pytest.fixture
def view(qtbot, tmp_path):
    rng = np.random.default_rng(0)
    for name, color in (("warm", (210, 80, 40)), ("cool", (40, 90, 210)), ("leaf", (40, 170, 60))):
        folder = tmp_path / "photos" / name
        folder.mkdir(parents=True)
        for i in range(8):
            pixels = np.clip(np.array(color) + rng.normal(0, 30, (24, 24, 3)), 0, 255)
            Image.fromarray(pixels.astype(np.uint8)).save(folder / f"{name}{i}.png")
    project = Project.create(tmp_path / "m.mbv2")
    import_paths(project.path, tmp_path / "photos", ignore_events, never_stop)
    project.set_labels({im.id: None for im in project.images()})  # all unlabeled, classes kept
    context = AppContext()
    context.jobs = JobRunner()
    context.set_project(project)
    widget = shown(qtbot, LabelView(context), 1000, 650)
    yield widget
    if widget.tools.map_window is not None:
        widget.tools.map_window.close()
    assert context.jobs.shutdown(10.0)
    context.set_project(None)
    widget.loader.shutdown()
    widget.preview.shutdown()


def drag(widget, points) -> None:
    """A left-button drag through `points` (widget coordinates), as a mouse sends it."""
    def send(kind, point, button, buttons):
        event = QMouseEvent(kind, QPointF(point), QPointF(widget.mapToGlobal(point)), button,
                            buttons, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(widget, event)

    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    send(QEvent.Type.MouseButtonPress, points[0], left, left)
    for point in points[1:]:
        QTest.qWait(40)  # pyqtgraph drops mouse moves that come faster than a screen refresh
        send(QEvent.Type.MouseMove, point, none, left)
    QTest.qWait(40)
    send(QEvent.Type.MouseButtonRelease, points[-1], left, none)


def test_lasso_selects_exactly_the_dots_inside_and_one_key_labels_them(qtbot, view):
    project = view.context.project
    window = view.tools.open_map()
    qtbot.waitUntil(lambda: not window.is_running(), timeout=60_000)
    assert len(window.ids) == 24 and window.xy.shape == (24, 2)
    window.grab()

    # A lasso round the left part of the map, drawn with the mouse in screen pixels.
    xy = window.xy
    left = xy[:, 0] < np.median(xy[:, 0])
    x0, x1 = xy[left, 0].min(), np.median(xy[:, 0])
    y0, y1 = xy[:, 1].min(), xy[:, 1].max()
    pad = 0.05 * (y1 - y0)
    corners = [(x0 - pad, y0 - pad), (x1, y0 - pad), (x1 - pad, (y0 + y1) / 2), (x1, y1 + pad),
               (x0 - pad, y1 + pad)]
    viewport = window.plot.viewport()
    box = window.view_box
    box.autoRange(padding=0.25)  # room round the dots for the lasso to start in
    screen = [window.plot.mapFromScene(box.mapViewToScene(QPointF(x, y))) for x, y in corners]
    drag(viewport, screen)
    lasso = box._path
    assert len(lasso) >= 5

    # The oracle: Qt's own polygon test on the lasso that was drawn.
    polygon = QPolygonF([QPointF(x, y) for x, y in lasso])
    inside = {window.ids[i] for i, (x, y) in enumerate(xy)
              if polygon.containsPoint(QPointF(x, y), Qt.FillRule.OddEvenFill)}
    assert 0 < len(inside) < 24
    shown = set(view.model.shown_ids())
    assert shown == inside
    assert set(view.selected_ids()) == inside  # all selected, ready for one key

    before = view.context.undo_stack.count()
    qtbot.keyClick(view.gallery, Qt.Key.Key_1)
    first = project.classes()[0].id
    labels = {im.id: im.class_id for im in project.images()}
    assert {i for i, c in labels.items() if c == first} == inside
    assert all(c is None for i, c in labels.items() if i not in inside)
    assert view.context.undo_stack.count() == before + 1  # one undo step

    view.context.undo_stack.undo()
    assert all(im.class_id is None for im in project.images())
    # The map follows the labels: colour by label paints the labeled dots in their class colour.
    assert len(window.colors()) == 24
