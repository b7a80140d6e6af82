"""The gallery: a QListView in icon mode over GalleryModel, one painted tile per image.

No widget per image: the delegate paints the thumbnail (or a placeholder while it loads, or a
"cannot read" tile), the class chip in the class's color, the file name, and a badge for a
problem or an excluded image. Uniform item sizes and batched layout let 50,000 rows lay out
without measuring each. Keys are turned into signals; LabelView decides what they do.
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QDrag, QFont, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate

from mbv2gui.gui.label.gallery_model import MIME_IDS
from mbv2gui.gui.common.thumbnail_loader import Unreadable

THUMB = 128
PAD = 6
CHIP_H = 18
TILE_W = THUMB + 2 * PAD + 8
PLACEHOLDER = QColor("#e4e7ec")
UNREADABLE_BG = QColor("#f6e0de")
UNREADABLE_FG = QColor("#a3261c")
BADGES = {"unreadable": ("!", QColor("#c62828")), "missing": ("?", QColor("#c62828")),
          "changed": ("~", QColor("#ef6c00"))}


def text_color_on(background: QColor) -> QColor:
    """Black or white, whichever reads better on the class color."""
    luminance = 0.299 * background.red() + 0.587 * background.green() + 0.114 * background.blue()
    return QColor("#1b1b1b") if luminance > 150 else QColor("#ffffff")


def tile_size(metrics) -> QSize:
    return QSize(TILE_W, PAD + THUMB + 6 + CHIP_H + 4 + metrics.height() + PAD)


class GalleryDelegate(QStyledItemDelegate):
    """Paints straight from the model's rows (not through data(): each call crosses from C++
    to Python), and keeps the class chips and elided names it drew, since a scroll repaints
    the same few dozen of them every frame."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._chips: dict[tuple, QPixmap] = {}
        self._names: dict[tuple, str] = {}

    def sizeHint(self, option, index) -> QSize:
        return tile_size(option.fontMetrics)

    def paint(self, painter: QPainter, option, index) -> None:
        model = index.model()
        row = model.image_row(index.row())
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        tile = option.rect.adjusted(2, 2, -2, -2)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            highlight = option.palette.highlight().color()
            fill = QColor(highlight)
            fill.setAlpha(60)
            # The current image (the one in the preview) gets the heavier edge.
            painter.setPen(QPen(highlight, 3 if option.state & QStyle.StateFlag.State_HasFocus else 1.5))
            painter.setBrush(fill)
            painter.drawRoundedRect(QRectF(tile).adjusted(1, 1, -1, -1), 6, 6)
        elif option.state & QStyle.StateFlag.State_MouseOver:
            painter.fillRect(tile, option.palette.alternateBase())
        thumb_rect = QRect(tile.left() + (tile.width() - THUMB) // 2, tile.top() + PAD, THUMB, THUMB)
        self._paint_thumbnail(painter, thumb_rect, model.thumbnail(row), option)
        self._paint_badges(painter, thumb_rect, row)
        chip = QRect(tile.left() + PAD, thumb_rect.bottom() + 7, tile.width() - 2 * PAD, CHIP_H)
        info = model.class_info(row.class_id)
        suggested = model.suggestion(row)
        if suggested is not None:  # "digit_3? 87%" in a dashed chip of that class's color
            pixmap = self._chip(f"{suggested[0]}? {suggested[1]:.0%}",
                                model.suggested_color(suggested[0]), chip, option, dashed=True)
        else:
            pixmap = self._chip(info.name if info else "", model.class_color(row.class_id),
                                chip, option)
        painter.drawPixmap(chip.topLeft(), pixmap)
        name_rect = QRect(chip.left(), chip.bottom() + 3, chip.width(), option.fontMetrics.height())
        painter.setFont(option.font)
        painter.setPen(option.palette.text().color() if selected else option.palette.placeholderText().color())
        painter.drawText(name_rect, Qt.AlignmentFlag.AlignCenter, self._elided(row.name, name_rect.width(), option))
        painter.restore()

    def _elided(self, name: str, width: int, option) -> str:
        key = (name, width)
        text = self._names.get(key)
        if text is None:
            if len(self._names) > 20_000:
                self._names.clear()
            text = self._names[key] = option.fontMetrics.elidedText(
                name, Qt.TextElideMode.ElideMiddle, width)
        return text

    def _chip(self, name: str, color: QColor | None, rect: QRect, option,
              dashed: bool = False) -> QPixmap:
        key = (name, color.rgba() if color is not None else None, rect.width(), rect.height(),
               dashed)
        pixmap = self._chips.get(key)
        if pixmap is None:
            if len(self._chips) > 500:  # renamed and recolored classes leave old chips behind
                self._chips.clear()
            ratio = option.widget.devicePixelRatioF() if option.widget else 1.0
            pixmap = QPixmap(rect.size() * ratio)
            pixmap.setDevicePixelRatio(ratio)
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            self._paint_chip(painter, QRect(QPoint(0, 0), rect.size()), name, color, option,
                             dashed)
            painter.end()
            self._chips[key] = pixmap
        return pixmap

    @staticmethod
    def _paint_thumbnail(painter: QPainter, rect: QRect, thumb, option) -> None:
        if isinstance(thumb, QPixmap) and not thumb.isNull():
            size = thumb.size().scaled(rect.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(QPoint(0, 0), size)
            target.moveCenter(rect.center())
            painter.drawPixmap(target, thumb)
            return
        unreadable = isinstance(thumb, Unreadable)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(UNREADABLE_BG if unreadable else PLACEHOLDER)
        painter.drawRoundedRect(QRectF(rect), 4, 4)
        if unreadable:
            font = QFont(option.font)
            font.setBold(True)
            painter.setFont(font)
            painter.setPen(UNREADABLE_FG)
            painter.drawText(rect.adjusted(6, 6, -6, -6),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             "Cannot read\nthis file")

    @staticmethod
    def _paint_badges(painter: QPainter, rect: QRect, row) -> None:
        badge = BADGES.get(row.status)
        if badge:
            text, color = badge
            circle = QRect(rect.right() - 21, rect.top() + 3, 18, 18)
            painter.setPen(QPen(QColor("white"), 1.5))
            painter.setBrush(color)
            painter.drawEllipse(circle)
            painter.drawText(circle, Qt.AlignmentFlag.AlignCenter, text)
        if row.excluded:
            pill = QRect(rect.left() + 3, rect.top() + 3, 62, 16)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(40, 40, 40, 190))
            painter.drawRoundedRect(QRectF(pill), 8, 8)
            painter.setPen(QColor("white"))
            painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, "excluded")

    @staticmethod
    def _paint_chip(painter: QPainter, rect: QRect, name: str, color: QColor | None, option,
                    dashed: bool = False) -> None:
        """A filled chip in the class color; a dashed outline for no label, or (in the
        suggested class's color) for a label the model only suggests."""
        metrics = option.fontMetrics
        text = name or "unlabeled"
        width = min(rect.width(), metrics.horizontalAdvance(text) + 20)  # 2 px slack: no false elision
        chip = QRect(rect.left() + (rect.width() - width) // 2, rect.top(), width, rect.height())
        path = QPainterPath()
        path.addRoundedRect(QRectF(chip), rect.height() / 2, rect.height() / 2)
        if color is not None and not dashed:
            painter.fillPath(path, color)
            painter.setPen(text_color_on(color))
        else:
            outline = color if color is not None else option.palette.mid().color()
            painter.setPen(QPen(outline, 1.5 if dashed else 1, Qt.PenStyle.DashLine))
            painter.drawPath(path)
            painter.setPen(option.palette.text().color() if dashed
                           else option.palette.placeholderText().color())
        painter.setFont(option.font)
        painter.drawText(chip.adjusted(7, 0, -7, 0), Qt.AlignmentFlag.AlignCenter,
                         metrics.elidedText(text, Qt.TextElideMode.ElideRight, chip.width() - 14))


class GalleryView(QListView):
    digitPressed = Signal(int)          # 0..9
    labelByNameRequested = Signal()     # L
    nextUnlabeledRequested = Signal()
    removeRequested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setItemDelegate(GalleryDelegate(self))
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)  # tiles are not rearranged by dragging
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)  # one size hint for all rows: no per-row measuring
        self.setLayoutMode(QListView.LayoutMode.Batched)  # big lists lay out in slices
        self.setBatchSize(2000)
        self.setSpacing(0)  # the grid cells (see resizeEvent) keep tiles apart
        # Always there, so its coming and going cannot change the width and the grid in a loop.
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setWordWrap(False)
        self.setMouseTracking(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSelectionRectVisible(True)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalScrollBar().setSingleStep(24)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

    def resizeEvent(self, event) -> None:
        """Spreads the columns over the whole width (grid cells as wide as the width allows):
        without this a ragged empty strip is left on the right. Only a changed grid costs a
        relayout, and a resize does one anyway."""
        tile = tile_size(self.fontMetrics())
        width = self.viewport().width()
        columns = max(1, width // (tile.width() + 6))
        cell = QSize((width - 1) // columns, tile.height() + 6)  # -1: Qt wraps at right()
        if cell != self.gridSize():
            self.setGridSize(cell)
        super().resizeEvent(event)

    # ----------------------------------------------------------------- selection helpers
    def selected_rows(self) -> list[int]:
        """Selected rows from the selection's ranges (no index object per row: select-all of
        50,000 stays instant)."""
        rows = []
        for span in self.selectionModel().selection():
            rows.extend(range(span.top(), span.bottom() + 1))
        return sorted(set(rows))

    def visible_rows(self) -> range:
        """The rows the viewport shows now, from the regular grid's geometry."""
        model = self.model()
        count = model.rowCount() if model else 0
        if count == 0:
            return range(0)
        first = self.visualRect(model.index(0, 0))
        columns = 1
        while columns < min(count, 64) and self.visualRect(model.index(columns, 0)).top() == first.top():
            columns += 1
        pitch = (self.visualRect(model.index(columns, 0)).top() - first.top()) if columns < count else 0
        if pitch <= 0:
            return range(count)
        top_line = max(0, -first.top() // pitch)
        lines = self.viewport().height() // pitch + 2
        return range(top_line * columns, min(count, (top_line + lines) * columns))

    # ----------------------------------------------------------------- keys and drags
    empty_text = ""  # said in the middle of an empty gallery: the next step (set by the view)

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if self.empty_text and self.model() is not None and not self.model().rowCount():
            painter = QPainter(self.viewport())
            painter.setPen(self.palette().placeholderText().color())
            area = self.viewport().rect().adjusted(40, 40, -40, -40)
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self.empty_text)

    def keyPressEvent(self, event) -> None:
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        text = event.text()
        if modifiers == Qt.KeyboardModifier.NoModifier:
            if len(text) == 1 and text.isdigit():
                self.digitPressed.emit(int(text))
                return
            if event.key() == Qt.Key.Key_U:
                self.nextUnlabeledRequested.emit()
                return
            if event.key() == Qt.Key.Key_L:
                self.labelByNameRequested.emit()
                return
            if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
                self.removeRequested.emit()
                return
        super().keyPressEvent(event)

    def startDrag(self, supported_actions) -> None:
        rows = self.selected_rows()
        if not rows:
            return
        model = self.model()
        mime = QMimeData()
        mime.setData(MIME_IDS, ",".join(str(model.id_at(r)) for r in rows).encode("ascii"))
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.setPixmap(self._drag_pixmap(len(rows)))
        drag.exec(Qt.DropAction.CopyAction)

    def _drag_pixmap(self, count: int) -> QPixmap:
        """A small card saying how many images are carried (rendering every tile would not
        scale to a select-all)."""
        text = f"{count:,} image{'' if count == 1 else 's'}"
        width = self.fontMetrics().horizontalAdvance(text) + 24
        pixmap = QPixmap(width, 28)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(self.palette().highlight())
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawRoundedRect(QRectF(pixmap.rect()), 14, 14)
        painter.setPen(self.palette().highlightedText().color())
        painter.drawText(pixmap.rect(), Qt.AlignmentFlag.AlignCenter, text)
        painter.end()
        return pixmap
