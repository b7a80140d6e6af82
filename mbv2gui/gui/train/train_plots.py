"""Live training curves: loss (training per batch and per epoch, validation per epoch),
accuracy (training and validation) and learning rate, with a vertical marker where fine-tuning
began. The same plots show a past run's history and overlay a second run for comparison.

Every curve is created once and fed with `setData`; live events only append to lists, and a
timer redraws at most a few times a second. The per-batch curve keeps at most MAX_BATCH_POINTS
points (older ones are thinned), so a long training stays cheap to draw."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from mbv2gui.gui.common import colors

MAX_BATCH_POINTS = 1500
REDRAW_MS = 250

TRAIN = "#2f6fd6"
VALIDATION = "#E69F00"
BATCH = "#a9c3ee"
COMPARE_TRAIN = "#7d8694"
COMPARE_VALIDATION = "#c2a060"
LEARNING_RATE = "#009E73"
MARKER = colors.WARNING
TEXT = "#5b6675"


def _pen(color: str, width: float = 2.0, dashed: bool = False):
    pen = pg.mkPen(QColor(color), width=width)
    if dashed:
        pen.setStyle(pg.QtCore.Qt.PenStyle.DashLine)
    return pen


def _plot(title: str, y_label: str) -> pg.PlotWidget:
    widget = pg.PlotWidget(background="w")
    widget.setMenuEnabled(False)
    item = widget.getPlotItem()
    item.setTitle(f"<span style='color:{TEXT};font-size:10pt'>{title}</span>")
    item.showGrid(x=True, y=True, alpha=0.15)
    item.setLabel("bottom", "epoch", color=TEXT)
    item.setLabel("left", y_label, color=TEXT)
    item.setClipToView(True)
    item.setDownsampling(auto=True, mode="peak")
    for axis in ("left", "bottom"):
        item.getAxis(axis).setTextPen(QColor(TEXT))
        item.getAxis(axis).setPen(QColor("#c9d0db"))
        # No "(x0.001)" with ticks 200-900 during the first epoch: plain numbers.
        item.getAxis(axis).enableAutoSIPrefix(False)
    widget.setMinimumHeight(120)
    return widget


class _Series:
    """x/y lists behind one curve."""

    def __init__(self, curve: pg.PlotDataItem):
        self.curve, self.x, self.y = curve, [], []

    def clear(self) -> None:
        self.x, self.y = [], []
        self.curve.setData([], [])

    def append(self, x: float, y) -> None:
        if y is not None:
            self.x.append(float(x))
            self.y.append(float(y))

    def set(self, xs, ys) -> None:
        pairs = [(float(x), float(y)) for x, y in zip(xs, ys) if y is not None]
        self.x = [p[0] for p in pairs]
        self.y = [p[1] for p in pairs]
        self.draw()

    def thin(self, limit: int) -> None:
        if len(self.x) > limit:  # keep every other point of the older half, all recent ones
            half = len(self.x) // 2
            self.x = self.x[:half:2] + self.x[half:]
            self.y = self.y[:half:2] + self.y[half:]

    def draw(self) -> None:
        self.curve.setData(self.x, self.y)


class TrainPlots(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.loss_plot = _plot("Loss (lower is better)", "loss")
        self.accuracy_plot = _plot("Accuracy (higher is better)", "accuracy")
        self.lr_plot = _plot("Learning rate", "rate")
        self.accuracy_plot.setYRange(0, 1.02, padding=0)
        self.accuracy_plot.getPlotItem().getAxis("left").setTickSpacing(0.2, 0.1)
        # Each legend in the corner its curves leave empty: loss falls away from the top
        # right, accuracy climbs away from the bottom right.
        for plot, offset in ((self.loss_plot, (-8, 8)), (self.accuracy_plot, (-8, -8))):
            plot.addLegend(offset=offset, labelTextColor=TEXT, brush=pg.mkBrush(255, 255, 255, 200))

        def curve(plot, color, name, width=2.0, dashed=False, symbol=True):
            kwargs = dict(pen=_pen(color, width, dashed), name=name)
            if symbol:
                kwargs.update(symbol="o", symbolSize=5, symbolBrush=QColor(color),
                              symbolPen=None)
            return _Series(plot.plot([], [], **kwargs))

        self.batch_loss = curve(self.loss_plot, BATCH, "training (batches)", 1.2, symbol=False)
        self.train_loss = curve(self.loss_plot, TRAIN, "training")
        self.val_loss = curve(self.loss_plot, VALIDATION, "validation")
        self.compare_train_loss = curve(self.loss_plot, COMPARE_TRAIN, None, 1.5, True, False)
        self.compare_val_loss = curve(self.loss_plot, COMPARE_VALIDATION, None, 1.5, True, False)
        self.train_accuracy = curve(self.accuracy_plot, TRAIN, "training")
        self.val_accuracy = curve(self.accuracy_plot, VALIDATION, "validation")
        self.compare_train_accuracy = curve(self.accuracy_plot, COMPARE_TRAIN, None, 1.5, True, False)
        self.compare_val_accuracy = curve(self.accuracy_plot, COMPARE_VALIDATION, None, 1.5, True,
                                          False)
        self.learning_rate = curve(self.lr_plot, LEARNING_RATE, None, 1.5, symbol=False)
        self._compare = (self.compare_train_loss, self.compare_val_loss,
                         self.compare_train_accuracy, self.compare_val_accuracy)
        self._all = (self.batch_loss, self.train_loss, self.val_loss, self.train_accuracy,
                     self.val_accuracy, self.learning_rate, *self._compare)
        self._live = (self.batch_loss, self.train_loss, self.val_loss, self.train_accuracy,
                      self.val_accuracy, self.learning_rate)
        self.markers = []
        for plot in (self.loss_plot, self.accuracy_plot, self.lr_plot):
            line = pg.InfiniteLine(angle=90, movable=False, pen=_pen(MARKER, 1.5, True),
                                   label="fine-tuning", labelOpts={"position": 0.92,
                                                                   "color": MARKER})
            line.hide()
            plot.addItem(line)
            self.markers.append(line)

        self.caption = QLabel()
        self.caption.setObjectName("plotsCaption")
        self.caption.setWordWrap(True)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.caption, 0, 0, 1, 2)
        layout.addWidget(self.loss_plot, 1, 0)
        layout.addWidget(self.accuracy_plot, 1, 1)
        layout.addWidget(self.lr_plot, 2, 0, 1, 2)
        layout.setRowStretch(1, 3)
        layout.setRowStretch(2, 1)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._redraw)
        self._phase_offset = 0  # epochs of earlier phases (batch events count from 1 per phase)
        self._epochs_seen = 0
        self.clear()

    # ----------------------------------------------------------------- live
    def clear(self, caption: str = "") -> None:
        """Empties every curve (the comparison too) and hides the fine-tuning marker."""
        for series in self._all:
            series.clear()
        self.set_fine_tune_start(None)
        self._phase_offset = self._epochs_seen = 0
        self.caption.setText(caption)

    def start_live(self, caption: str = "Training…") -> None:
        self.clear(caption)

    def on_event(self, event: dict) -> None:
        """Feeds one training event ("phase", "batch", "epoch"); others are ignored."""
        kind = event.get("type")
        if kind == "phase":
            self._phase_offset = self._epochs_seen
            if event.get("phase") == "fine_tune":
                self.set_fine_tune_start(self._epochs_seen)
        elif kind == "batch":
            steps = max(1, int(event.get("steps") or 1))
            x = self._phase_offset + (int(event.get("epoch") or 1) - 1) + \
                int(event.get("step") or 0) / steps
            self.batch_loss.append(x, event.get("loss"))
            self.batch_loss.thin(MAX_BATCH_POINTS)
            self.learning_rate.append(x, event.get("learning_rate"))
            self.learning_rate.thin(MAX_BATCH_POINTS)
            self._schedule()
        elif kind == "epoch":
            x = int(event.get("epoch") or self._epochs_seen + 1)
            self._epochs_seen = max(self._epochs_seen, x)
            self.train_loss.append(x, event.get("loss"))
            self.val_loss.append(x, event.get("val_loss"))
            self.train_accuracy.append(x, event.get("accuracy"))
            self.val_accuracy.append(x, event.get("val_accuracy"))
            if not self.learning_rate.x or self.learning_rate.x[-1] < x:
                self.learning_rate.append(x, event.get("learning_rate"))
            self._schedule()

    def _schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start(REDRAW_MS)

    def _redraw(self) -> None:
        for series in self._live:
            series.draw()
        self._fit_epochs()

    def _fit_epochs(self) -> None:
        """While training: the x axis from epoch 0 to the end of the epoch under way (at least
        one whole epoch), not a zoom onto the first few batches."""
        xs = [series.x[-1] for series in self._live if series.x]
        right = max(1, math.ceil(max(xs))) if xs else 1
        for plot in (self.loss_plot, self.accuracy_plot, self.lr_plot):
            plot.setXRange(0, right, padding=0.02)

    def flush(self) -> None:
        """Draws what the events brought now, instead of at the next timer tick."""
        self._timer.stop()
        self._redraw()

    # ----------------------------------------------------------------- past runs
    def show_history(self, history: dict | None, caption: str = "") -> None:
        """Shows a finished run's per-epoch history (runs.py's history.json)."""
        self._timer.stop()
        for plot in (self.loss_plot, self.accuracy_plot, self.lr_plot):
            plot.enableAutoRange(axis="x")
        for series in self._live:
            series.clear()
        history = history or {}
        epochs = history.get("epoch") or []
        self.train_loss.set(epochs, history.get("loss") or [])
        self.val_loss.set(epochs, history.get("val_loss") or [])
        self.train_accuracy.set(epochs, history.get("accuracy") or [])
        self.val_accuracy.set(epochs, history.get("val_accuracy") or [])
        self.learning_rate.set(epochs, history.get("learning_rate") or [])
        self._epochs_seen = len(epochs)
        self.set_fine_tune_start(history.get("fine_tune_start_epoch"))
        self.caption.setText(caption)

    def set_comparison(self, history: dict | None) -> None:
        """Overlays a second run's validation and training curves (dashed), or removes it."""
        history = history or {}
        epochs = history.get("epoch") or []
        self.compare_train_loss.set(epochs, history.get("loss") or [])
        self.compare_val_loss.set(epochs, history.get("val_loss") or [])
        self.compare_train_accuracy.set(epochs, history.get("accuracy") or [])
        self.compare_val_accuracy.set(epochs, history.get("val_accuracy") or [])

    def set_fine_tune_start(self, epoch) -> None:
        """Fine-tuning began after `epoch` epochs (the marker sits there), or None: no marker."""
        for line in self.markers:
            if epoch is None:
                line.hide()
            else:
                line.setValue(float(epoch) + 0.5 if epoch else 0.5)
                line.show()

    # ----------------------------------------------------------------- reading back
    def fine_tune_marker(self) -> float | None:
        line = self.markers[0]
        return float(line.value()) if line.isVisible() else None

    @staticmethod
    def points(series: _Series) -> tuple[list, list]:
        """What a curve actually draws, read back from pyqtgraph."""
        x, y = series.curve.getData()
        return ([] if x is None else list(x)), ([] if y is None else list(y))
