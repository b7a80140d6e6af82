"""The map of the data: every image as a dot, similar images close together
(core/inference/data_map.py, computed in the engine), coloured by label, by the model's
prediction or by how likely the label is wrong. Hovering shows the image; dragging draws a
lasso, and the images inside it fill the gallery, selected, so one key labels them all (one
undo step, as any labeling).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QComboBox, QDialog, QHBoxLayout, QLabel, QProgressBar,
                               QVBoxLayout)

from mbv2gui.core.inference.data_map import points_inside
from mbv2gui.core.store.queries import image_rows

BY_LABEL, BY_PREDICTION, BY_MISLABELED = "Label", "Prediction", "Likely mislabeled"
UNLABELED = QColor(170, 170, 170)
HINT = ("Drag round a group of dots to choose them: the gallery then shows them, selected, so "
        "one key labels them all (Ctrl+Z undoes). Wheel zooms, right-drag zooms an axis.")


class LassoViewBox(pg.ViewBox):
    """Left-drag draws a lasso (instead of panning); `lassoed` gives its polygon in data
    coordinates when the button is released."""

    lassoed = Signal(list)

    def __init__(self):
        super().__init__()
        self.setMouseEnabled(True, True)
        self._path: list[tuple[float, float]] = []
        self.outline = pg.PlotCurveItem(pen=pg.mkPen((30, 30, 30), width=1.5,
                                                     style=Qt.PenStyle.DashLine))
        self.addItem(self.outline, ignoreBounds=True)

    def mouseDragEvent(self, ev, axis=None):
        if ev.button() != Qt.MouseButton.LeftButton:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        point = self.mapSceneToView(ev.scenePos())
        if ev.isStart():  # the drag is noticed a few pixels on: start where the button went down
            start = self.mapSceneToView(ev.buttonDownScenePos())
            self._path = [(start.x(), start.y())]
        self._path.append((point.x(), point.y()))
        closed = self._path + self._path[:1]
        self.outline.setData([p[0] for p in closed], [p[1] for p in closed])
        if ev.isFinish():
            self.lassoed.emit(list(self._path))


class DataMapWindow(QDialog):
    lassoed = Signal(list, str)  # image ids inside the lasso, a caption for the gallery

    def __init__(self, context, loader, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Map of the images")
        self.resize(900, 620)
        self.context = context
        self.loader = loader
        self._job = None
        self.ids: list[int] = []
        self.xy = np.zeros((0, 2), dtype=np.float32)
        self.result: dict = {}
        self._hovered: int | None = None
        self.color_combo = QComboBox()
        self.color_combo.addItems([BY_LABEL, BY_PREDICTION, BY_MISLABELED])
        self.color_combo.currentTextChanged.connect(lambda _t: self.recolor())
        self.status = QLabel()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.setTextVisible(False)
        self.view_box = LassoViewBox()
        self.plot = pg.PlotWidget(viewBox=self.view_box, background="w")
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.scatter = pg.ScatterPlotItem(size=8, pen=None, hoverable=True,
                                          hoverPen=pg.mkPen("k", width=2))
        self.plot.addItem(self.scatter)
        self.scatter.sigHovered.connect(self._on_hover)
        self.view_box.lassoed.connect(self.lasso)
        self.thumb = QLabel()
        self.thumb.setFixedSize(170, 170)
        self.thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumb_text = QLabel("Point at a dot to see its image.")
        self.thumb_text.setWordWrap(True)
        self.thumb_text.setFixedWidth(170)
        self.hint = QLabel(HINT)
        self.hint.setWordWrap(True)
        top = QHBoxLayout()
        for widget in (QLabel("Colour by:"), self.color_combo, self.progress):
            top.addWidget(widget)
        top.addWidget(self.status, 1)
        side = QVBoxLayout()
        side.addWidget(self.thumb)
        side.addWidget(self.thumb_text)
        side.addStretch(1)
        middle = QHBoxLayout()
        middle.addWidget(self.plot, 1)
        middle.addLayout(side)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(middle, 1)
        layout.addWidget(self.hint)
        context.imagesChanged.connect(lambda _ids: self.recolor())
        context.classesChanged.connect(self.recolor)
        loader.ready.connect(self._on_thumbnail)

    # ----------------------------------------------------------------- the job
    def start(self) -> None:
        """Computes the map (in the engine: a run's features need TensorFlow)."""
        from mbv2gui.core.inference.data_map import map_job
        from mbv2gui.gui.label.label_tools import current_run_dir

        if self._job is not None or self.context.project is None:
            return
        run_dir = current_run_dir(self.context)
        self._job = self.context.jobs.start_in_engine(
            map_job, str(self.context.project.path), run_dir, name="drawing the map")
        self._job.ask_before_quit = False
        self._job.progress.connect(self._on_progress)
        self._job.finished.connect(self.show_result)
        self._job.failed.connect(lambda text, _detail: self.status.setText(text))
        self._job.ended.connect(self._on_ended)
        self.progress.setRange(0, 0)
        self.progress.show()
        self.status.setText("Placing the images on the map…")

    def is_running(self) -> bool:
        return self._job is not None

    def _on_progress(self, done: int, total, text: str) -> None:
        if total:
            self.progress.setRange(0, int(total))
            self.progress.setValue(done)
        self.status.setText(text)

    def _on_ended(self) -> None:
        self._job = None
        self.progress.hide()

    def show_result(self, result: dict) -> None:
        self.result = result
        self.ids = list(result["ids"])
        self.xy = np.asarray(result["xy"], dtype=np.float64).reshape(-1, 2)
        has_model = result.get("probabilities") is not None
        for index in (1, 2):  # prediction and mislabeled need a model
            self.color_combo.model().item(index).setEnabled(has_model)
        if not has_model:
            self.color_combo.setCurrentText(BY_LABEL)
        how = ("the model's image features" if result["source"] == "features" else
               "the images' pixels (train a model for a map of what the images show)")
        self.status.setText(f"{len(self.ids):,} images, placed by {how}.")
        self.recolor()
        self.view_box.autoRange()

    # ----------------------------------------------------------------- colours
    def _labels(self) -> dict[int, int | None]:
        project = self.context.project
        if project is None:
            return {}
        return {row.id: row.class_id for row in image_rows(project, self.ids)}

    def colors(self) -> list[QColor]:
        """Each dot's colour for the chosen colouring."""
        project = self.context.project
        if project is None or not self.ids:
            return []
        classes = {c.id: c for c in project.classes()}
        by_name = {c.name: QColor(c.color) for c in classes.values()}
        labels = self._labels()
        mode = self.color_combo.currentText()
        probabilities = self.result.get("probabilities")
        if mode == BY_LABEL or probabilities is None:
            return [QColor(classes[labels[i]].color) if labels.get(i) in classes else UNLABELED
                    for i in self.ids]
        names = list(self.result["class_names"])
        probabilities = np.asarray(probabilities)
        if mode == BY_PREDICTION:
            return [by_name.get(names[k], UNLABELED) for k in probabilities.argmax(axis=1)]
        # Likely mislabeled: red as far as the model prefers another class to the given one
        # (0 when it agrees). The run saw its training images, so this understates doubt there;
        # Evaluate → Likely mislabeled has the out-of-fold check.
        colors = []
        for row, image_id in enumerate(self.ids):
            info = classes.get(labels.get(image_id))
            if info is None or info.name not in names:
                colors.append(QColor(225, 225, 225))
                continue
            given = float(probabilities[row, names.index(info.name)])
            doubt = max(0.0, float(probabilities[row].max()) - given)
            colors.append(QColor(int(200 + 55 * doubt), int(200 * (1 - doubt)),
                                 int(200 * (1 - doubt))))
        return colors

    def recolor(self) -> None:
        if not self.ids:
            return
        brushes = [pg.mkBrush(color) for color in self.colors()]
        self.scatter.setData(x=self.xy[:, 0], y=self.xy[:, 1], brush=brushes, data=self.ids)

    # ----------------------------------------------------------------- hover and lasso
    def _on_hover(self, _item, points, _event) -> None:
        if len(points) == 0:
            return
        self._hovered = int(points[0].data())
        self._show_thumbnail()

    def _show_thumbnail(self) -> None:
        project = self.context.project
        record = project.image(self._hovered) if project and self._hovered is not None else None
        if record is None:
            return
        classes = {c.id: c.name for c in project.classes()}
        name = record.path.replace("\\", "/").rsplit("/", 1)[-1]
        self.thumb_text.setText(f"{name}\nLabel: {classes.get(record.class_id, 'none')}")
        pixmap = self.loader.pixmap(record.content_hash, record.path)
        if hasattr(pixmap, "scaled"):
            self.thumb.setPixmap(pixmap.scaled(self.thumb.size(),
                                               Qt.AspectRatioMode.KeepAspectRatio,
                                               Qt.TransformationMode.SmoothTransformation))

    def wanted_hashes(self) -> set[str]:
        project = self.context.project
        record = project.image(self._hovered) if project and self._hovered is not None else None
        return {record.content_hash} if record is not None and record.content_hash else set()

    def _on_thumbnail(self, content_hash: str) -> None:
        if self._hovered is not None and self.isVisible():
            record = self.context.project.image(self._hovered) if self.context.project else None
            if record is not None and record.content_hash == content_hash:
                self._show_thumbnail()

    def lasso(self, polygon) -> list[int]:
        """Chooses the images whose dots lie inside `polygon` (data coordinates) and hands
        them to the gallery; returns their ids."""
        inside = points_inside(self.xy, polygon) if len(self.xy) else np.zeros(0, bool)
        chosen = [self.ids[i] for i in np.flatnonzero(inside)]
        chosen_pen, other_pen = pg.mkPen("k", width=2), pg.mkPen(None)
        pens = [chosen_pen if flag else other_pen for flag in inside]
        self.scatter.setPen(pens)
        if chosen:
            self.lassoed.emit(chosen, f"{len(chosen):,} image{'' if len(chosen) == 1 else 's'} "
                                      "chosen on the map")
        return chosen
