"""The confusion matrix as a heat map you can click into.

Rows are the true class, columns the predicted class. Color intensity is the row-normalised
share (so a small class's mistakes are as visible as a big class's); the diagonal is blue
("right"), the rest orange ("wrong"), so mistakes stand out without reading numbers. Each cell
shows its count, or its row percentage when `set_show_percent(True)`; hovering shows both.

Painted by hand rather than with one widget per cell: 50 classes are 2,500 cells, and a
painter lays out labels (rotated, elided, scaled) far better than a grid of QLabels.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

RIGHT = (31, 119, 180)   # diagonal: images the model got right
WRONG = (230, 85, 13)    # off-diagonal: mistakes
EMPTY = (248, 248, 248)
MAX_LABEL_PX = 130  # class names longer than this are elided; the full name is in the tooltip
AXIS_TITLE_PX = 18


def cell_colors(counts: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """(n, n, 3) uint8: blue on the diagonal, orange off it, faded toward white by the row
    share (0 is almost white, 1 the full color); empty cells pale grey."""
    n = len(counts)
    base = np.where(np.eye(n, dtype=bool)[..., None], RIGHT, WRONG).astype(float)
    t = (0.12 + 0.88 * np.clip(shares, 0, 1))[..., None]
    colors = np.rint(255 + (base - 255) * t)
    colors[counts == 0] = EMPTY
    return np.ascontiguousarray(colors, dtype=np.uint8)


class ConfusionMatrixWidget(QWidget):
    cellClicked = Signal(int, int)  # true class index, predicted class index
    rowClicked = Signal(int)        # a true-class label: every image of that class
    columnClicked = Signal(int)     # a predicted-class label: everything predicted as it

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._names: list[str] = []
        self._counts = np.zeros((0, 0), dtype=int)
        self._shares = np.zeros((0, 0))
        self._percent = False
        self._selected: tuple[int | None, int | None] | None = None
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(220, 220)

    # ----------------------------------------------------------------- data
    def set_matrix(self, class_names: list[str], counts: np.ndarray) -> None:
        self._names = list(class_names)
        self._counts = np.asarray(counts, dtype=int).reshape(len(self._names), len(self._names))
        sums = self._counts.sum(axis=1, keepdims=True).astype(float)
        self._shares = np.divide(self._counts, sums, out=np.zeros(self._counts.shape), where=sums > 0)
        self._selected = None
        self.update()

    def set_show_percent(self, on: bool) -> None:
        self._percent = bool(on)
        self.update()

    def set_selection(self, true_idx: int | None, pred_idx: int | None) -> None:
        """Outlines a cell, a row (pred_idx None) or a column (true_idx None)."""
        self._selected = (true_idx, pred_idx)
        self.update()

    def clear_selection(self) -> None:
        self._selected = None
        self.update()

    def class_count(self) -> int:
        return len(self._names)

    def sizeHint(self) -> QSize:
        return QSize(520, 520)

    # ----------------------------------------------------------------- geometry
    def _layout(self) -> tuple[float, int, int, QFont, bool]:
        """(cell size, left margin, top margin, label font, column labels upright), computed
        once per size/data/font change: a paint asks for 2,500 cell rects at 50 classes and
        must not re-measure 50 names each time."""
        key = (self.width(), self.height(), tuple(self._names), self.font().key())
        if getattr(self, "_layout_key", None) != key:
            n = max(1, len(self._names))
            # A first guess with the widest labels sizes the font; the real margins follow.
            guess = (min(self.width(), self.height()) - AXIS_TITLE_PX - MAX_LABEL_PX - 4) / n
            font = QFont(self.font())
            # Labels shrink with the cells (down to 7 pt) so 50 rotated names still fit.
            font.setPointSizeF(max(7.0, min(font.pointSizeF(), guess * 0.45)))
            metrics = QFontMetrics(font)
            label_px = min(MAX_LABEL_PX, max((metrics.horizontalAdvance(name) for name in self._names),
                                             default=0) + 8)
            left = AXIS_TITLE_PX + label_px
            # Short names ("0".."9", "cat") read better upright, when they fit over a cell.
            upright = label_px <= guess
            top = AXIS_TITLE_PX + (metrics.height() + 6 if upright else label_px)
            cell = max(4.0, min((self.width() - left - 4) / n, (self.height() - top - 4) / n))
            if upright and label_px > cell:  # the real cells came out narrower: rotate after all
                upright, top = False, left
                cell = max(4.0, min(self.width() - left - 4, self.height() - top - 4) / n)
            self._layout_key, self._layout_value = key, (cell, left, top, font, upright)
        return self._layout_value

    def _cell_size(self) -> float:
        return self._layout()[0]

    def _label_px(self) -> int:
        return self._layout()[1] - AXIS_TITLE_PX

    def _origin(self) -> QPoint:
        _cell, left, top, _font, _upright = self._layout()
        return QPoint(left, top)

    def cell_rect(self, true_idx: int, pred_idx: int) -> QRect:
        """Where a cell is drawn, in widget coordinates (tests click its center)."""
        size, origin = self._cell_size(), self._origin()
        return QRect(round(origin.x() + pred_idx * size), round(origin.y() + true_idx * size),
                     max(1, round(size)), max(1, round(size)))

    def row_label_rect(self, true_idx: int) -> QRect:
        size, origin = self._cell_size(), self._origin()
        return QRect(AXIS_TITLE_PX, round(origin.y() + true_idx * size),
                     origin.x() - AXIS_TITLE_PX - 2, max(1, round(size)))

    def column_label_rect(self, pred_idx: int) -> QRect:
        size, origin = self._cell_size(), self._origin()
        return QRect(round(origin.x() + pred_idx * size), AXIS_TITLE_PX,
                     max(1, round(size)), origin.y() - AXIS_TITLE_PX - 2)

    def hit(self, pos: QPoint) -> tuple[str, int, int] | None:
        """('cell', true, pred), ('row', true, -1), ('column', -1, pred) or None."""
        n = len(self._names)
        if not n:
            return None
        size, origin = self._cell_size(), self._origin()
        col = int((pos.x() - origin.x()) // size) if pos.x() >= origin.x() else -1
        row = int((pos.y() - origin.y()) // size) if pos.y() >= origin.y() else -1
        if 0 <= row < n and 0 <= col < n:
            return ("cell", row, col)
        if 0 <= row < n and AXIS_TITLE_PX <= pos.x() < origin.x():
            return ("row", row, -1)
        if 0 <= col < n and AXIS_TITLE_PX <= pos.y() < origin.y():
            return ("column", -1, col)
        return None

    # ----------------------------------------------------------------- painting
    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.fillRect(self.rect(), self.palette().base())
        if not self._names:
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No confusion matrix yet:\n"
                             "train a model, then come back here.")
            return
        self._paint_titles(painter)
        self._paint_labels(painter)
        self._paint_cells(painter)
        self._paint_selection(painter)

    def _paint_titles(self, painter: QPainter) -> None:
        n, size, origin = len(self._names), self._cell_size(), self._origin()
        font = QFont(self.font())
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(self.palette().text().color())
        span = round(n * size)
        painter.drawText(QRect(origin.x(), 0, span, AXIS_TITLE_PX), Qt.AlignmentFlag.AlignCenter,
                         "Predicted class")
        painter.save()
        painter.translate(0, origin.y() + span)
        painter.rotate(-90)
        painter.drawText(QRect(0, 0, span, AXIS_TITLE_PX), Qt.AlignmentFlag.AlignCenter, "True class")
        painter.restore()

    def _paint_labels(self, painter: QPainter) -> None:
        font, upright = self._layout()[3:]
        metrics = QFontMetrics(font)
        painter.setFont(font)
        painter.setPen(self.palette().text().color())
        room = self._label_px() - 6
        for i, name in enumerate(self._names):
            text = metrics.elidedText(name, Qt.TextElideMode.ElideMiddle, room)
            painter.drawText(self.row_label_rect(i).adjusted(0, 0, -4, 0),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, text)
            rect = self.column_label_rect(i)
            if upright:
                painter.drawText(rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom, text)
                continue
            # Else they read bottom-to-top, so any number of classes fits above the grid.
            painter.save()
            painter.translate(rect.left(), rect.bottom())
            painter.rotate(-90)
            painter.drawText(QRect(4, 0, rect.height() - 4, rect.width()),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
            painter.restore()

    def _cell_text(self, i: int, j: int) -> str:
        if self._percent:
            return f"{100 * self._shares[i, j]:.0f}%" if self._counts[i].sum() else ""
        return str(self._counts[i, j])

    def _paint_cells(self, painter: QPainter) -> None:
        """All cells as one n×n image scaled up without smoothing, then grid lines and numbers:
        a handful of painter calls instead of several per cell (2,500 cells at 50 classes)."""
        n, size, origin = len(self._names), self._cell_size(), self._origin()
        colors = cell_colors(self._counts, self._shares)
        image = QImage(colors.data, n, n, 3 * n, QImage.Format.Format_RGB888)
        grid = QRectF(origin.x(), origin.y(), n * size, n * size)
        painter.drawImage(grid, image)
        painter.setPen(QPen(QColor(255, 255, 255), 1))
        for k in range(n + 1):
            offset = k * size
            painter.drawLine(QPointF(grid.left() + offset, grid.top()), QPointF(grid.left() + offset, grid.bottom()))
            painter.drawLine(QPointF(grid.left(), grid.top() + offset), QPointF(grid.right(), grid.top() + offset))
        if size < 14:  # a number would be unreadable; the tooltip still has it
            return
        font = QFont(self.font())
        font.setPointSizeF(max(6.0, min(12.0, size * 0.28)))
        painter.setFont(font)
        # Light text on dark cells: lightness of each cell, as HSL defines it.
        dark = (colors.max(axis=2).astype(int) + colors.min(axis=2)) / 510 < 0.6
        pens = {True: QColor("white"), False: QColor(40, 40, 40)}
        current = None
        for i in range(n):
            for j in range(n):
                if self._counts[i, j] or self._percent:
                    if current != bool(dark[i, j]):  # a pen change only where the shade flips
                        current = bool(dark[i, j])
                        painter.setPen(pens[current])
                    painter.drawText(self.cell_rect(i, j), Qt.AlignmentFlag.AlignCenter, self._cell_text(i, j))

    def _paint_selection(self, painter: QPainter) -> None:
        if self._selected is None:
            return
        n = len(self._names)
        true_idx, pred_idx = self._selected
        rows = range(n) if true_idx is None else [true_idx]
        cols = range(n) if pred_idx is None else [pred_idx]
        if not (all(0 <= r < n for r in rows) and all(0 <= c < n for c in cols)):
            return
        top_left = self.cell_rect(rows[0], cols[0])
        bottom_right = self.cell_rect(rows[-1], cols[-1])
        # Dark outside, white inside: visible on the palest and on the darkest cell alike.
        area = top_left.united(bottom_right)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(QColor(20, 20, 20), 3))
        painter.drawRect(area.adjusted(1, 1, -2, -2))
        painter.setPen(QPen(QColor(255, 255, 255), 1))
        painter.drawRect(area.adjusted(3, 3, -4, -4))

    # ----------------------------------------------------------------- interaction
    def mousePressEvent(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        hit = self.hit(event.position().toPoint())
        if hit is None:
            return
        kind, i, j = hit
        if kind == "cell":
            self.set_selection(i, j)
            self.cellClicked.emit(i, j)
        elif kind == "row":
            self.set_selection(i, None)
            self.rowClicked.emit(i)
        else:
            self.set_selection(None, j)
            self.columnClicked.emit(j)

    def mouseMoveEvent(self, event) -> None:
        hit = self.hit(event.position().toPoint())
        self.setCursor(Qt.CursorShape.PointingHandCursor if hit else Qt.CursorShape.ArrowCursor)
        super().mouseMoveEvent(event)

    def tooltip_text(self, pos: QPoint) -> str:
        hit = self.hit(pos)
        if hit is None:
            return ""
        kind, i, j = hit
        if kind == "row":
            return f"True class “{self._names[i]}”: {self._counts[i].sum()} images. Click to see them all."
        if kind == "column":
            return (f"Predicted as “{self._names[j]}”: {self._counts[:, j].sum()} images. "
                    "Click to see them all.")
        count, total = self._counts[i, j], self._counts[i].sum()
        share = f" ({100 * self._shares[i, j]:.1f}% of the “{self._names[i]}” images)" if total else ""
        verdict = "correct" if i == j else "mistakes"
        return (f"True “{self._names[i]}”, predicted “{self._names[j]}”: {count} image"
                f"{'' if count == 1 else 's'}{share} — {verdict}. Click to see them.")

    def event(self, event) -> bool:
        if event.type() == event.Type.ToolTip:
            text = self.tooltip_text(event.pos())
            if text:
                QToolTip.showText(event.globalPos(), text, self)
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)
