"""The gallery of images behind a number: a confusion-matrix cell, the mistakes, the
low-confidence images, or the likely mislabeled ones.

A QListView over a list model (never one widget per image), each item a thumbnail with a few
lines under it (true label, predicted label, confidence) and a colored edge: orange for a
mistake, blue for a correct prediction, purple for a suspected label error. Keys, as in the
Label view: 1-9 relabel the selection to the n-th class, X excludes it from training, Enter or a
double-click opens it large. The gallery only says what was asked (signals); a GalleryEditor
does it, so every list behaves alike.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Protocol

from PySide6.QtCore import (QAbstractListModel, QModelIndex, QObject, QRect, QSize, Qt, QTimer,
                            Signal)
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QLabel, QListView, QStyle,
                               QStyledItemDelegate, QVBoxLayout)

from mbv2gui.core.files.thumbnails import make_thumbnails
from mbv2gui.core.store.sidecar import thumbnails_folder

MARK_COLORS = {"wrong": QColor(230, 85, 13), "right": QColor(31, 119, 180),
               "suspect": QColor(148, 103, 189), "": QColor(160, 160, 160)}
THUMB_PX = 112
THUMB_CACHE_PX = 160  # core.thumbnails' default size: one cached file per image for every view
LINE_COUNT = 4
ItemRole = Qt.ItemDataRole.UserRole + 1


class ThumbnailSource(Protocol):
    """What the gallery needs from a thumbnail loader: a non-blocking lookup that queues a
    miss, and a signal (Qt SignalInstance) carrying the path whose thumbnail is now ready."""

    ready: object

    def get(self, path: str, content_hash: str | None, size: int) -> QPixmap | None: ...


class _JobThumbnails(QObject):
    """A thumbnail source for the review galleries: misses are made in one job at a time
    (core.thumbnails' on-disk cache, keyed by content) and kept as pixmaps once made. Only the
    visible items ask, so a 10,000-image cell costs a screenful of thumbnails."""

    ready = Signal(str)
    KEEP = 3000  # pixmaps kept in memory; the disk cache holds the rest

    def __init__(self, context, parent: QObject):
        super().__init__(parent)
        self.context = context
        self._pixmaps: dict[str, QPixmap] = {}
        self._wanted: dict[str, str] = {}  # path -> content hash, waiting for the next job
        self._job = None

    def get(self, path: str, content_hash: str | None, size: int) -> QPixmap | None:
        pixmap = self._pixmaps.get(path)
        if pixmap is None and content_hash and self.context.project is not None \
                and path not in self._wanted:
            self._wanted[path] = content_hash
            if self._job is None:
                QTimer.singleShot(0, self._start)  # gather this paint's misses into one job
        return pixmap

    def _start(self) -> None:
        project = self.context.project
        if self._job is not None or not self._wanted or project is None or self.context.jobs is None:
            return
        batch = list(self._wanted.items())[:200]
        folder = str(thumbnails_folder(project.path, THUMB_CACHE_PX))
        self._job = self.context.jobs.start(make_thumbnails, folder, THUMB_CACHE_PX, batch,
                                            name="making thumbnails")
        self._job.finished.connect(self._on_made)
        self._job.failed.connect(lambda *_: self._on_made([]))
        self._job.cancelled.connect(lambda: self._on_made([]))

    def _on_made(self, made: list[tuple[str, str | None]]) -> None:
        self._job = None
        if len(self._pixmaps) > self.KEEP:
            self._pixmaps.clear()
        for path, thumbnail in made:
            # An unreadable image keeps an empty pixmap, so it is not asked for again.
            self._pixmaps[path] = QPixmap(thumbnail) if thumbnail else QPixmap()
            self._wanted.pop(path, None)
            self.ready.emit(path)
        self._start()


def make_thumbnail_source(context, parent: QObject) -> ThumbnailSource:
    return _JobThumbnails(context, parent)


@dataclass(frozen=True)
class ReviewItem:
    path: str
    image_id: int | None
    content_hash: str | None
    lines: tuple[str, ...]   # shown under the thumbnail, first line bold
    mark: str = ""           # "wrong" | "right" | "suspect": the color of the edge
    tooltip: str = ""
    payload: object = field(default=None, compare=False)  # the Prediction or Suspect behind it


class ReviewModel(QAbstractListModel):
    def __init__(self, thumbnails: ThumbnailSource, parent=None):
        super().__init__(parent)
        self._items: list[ReviewItem] = []
        self._rows_by_path: dict[str, list[int]] = {}
        self._thumbnails = thumbnails
        thumbnails.ready.connect(self._on_thumbnail)

    def set_items(self, items: list[ReviewItem]) -> None:
        self.beginResetModel()
        self._items = list(items)
        self._rows_by_path = {}
        for row, item in enumerate(self._items):
            self._rows_by_path.setdefault(item.path, []).append(row)
        self.endResetModel()

    def items(self) -> list[ReviewItem]:
        return list(self._items)

    def item(self, row: int) -> ReviewItem:
        return self._items[row]

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self._items):
            return None
        item = self._items[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return item.lines[0] if item.lines else ""
        if role == Qt.ItemDataRole.ToolTipRole:
            return item.tooltip or "\n".join((*item.lines, item.path))
        if role == Qt.ItemDataRole.DecorationRole:
            # Asking is cheap: a miss queues the thumbnail off the GUI thread and returns None.
            return self._thumbnails.get(item.path, item.content_hash, THUMB_PX)
        if role == ItemRole:
            return item
        return None

    def _on_thumbnail(self, path: str) -> None:
        for row in self._rows_by_path.get(path, ()):
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


class ReviewDelegate(QStyledItemDelegate):
    """Thumbnail on top, the item's lines under it, a colored edge for its mark."""

    def sizeHint(self, option, index) -> QSize:
        line = option.fontMetrics.height()
        return QSize(THUMB_PX + 16, THUMB_PX + 14 + LINE_COUNT * line)

    def paint(self, painter: QPainter, option, index) -> None:
        item: ReviewItem = index.data(ItemRole)
        if item is None:
            return
        painter.save()
        rect = option.rect.adjusted(3, 3, -3, -3)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.fillRect(rect, option.palette.highlight())
        edge = MARK_COLORS.get(item.mark, MARK_COLORS[""])
        painter.setPen(QPen(edge, 3))
        painter.drawRect(rect.adjusted(1, 1, -2, -2))
        thumb_rect = QRect(rect.left() + (rect.width() - THUMB_PX) // 2, rect.top() + 5, THUMB_PX, THUMB_PX)
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        if pixmap is not None and not pixmap.isNull():
            scaled = pixmap.size().scaled(thumb_rect.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, scaled.width(), scaled.height())
            target.moveCenter(thumb_rect.center())
            painter.drawPixmap(target, pixmap)
        else:
            painter.fillRect(thumb_rect, option.palette.alternateBase())
        text_color = option.palette.highlightedText() if selected else option.palette.text()
        painter.setPen(text_color.color())
        line_height = option.fontMetrics.height()
        top = thumb_rect.bottom() + 4
        for number, text in enumerate(item.lines[:LINE_COUNT]):
            font = option.font
            font.setBold(number == 0)
            painter.setFont(font)
            line_rect = QRect(rect.left() + 4, top + number * line_height, rect.width() - 8, line_height)
            elided = painter.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, line_rect.width())
            painter.drawText(line_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter, elided)
        painter.restore()


class ReviewGallery(QListView):
    relabelRequested = Signal(list, int)  # items, class position (0 for key 1)
    excludeRequested = Signal(list)       # items
    openRequested = Signal(object)        # the item to show large
    acceptRequested = Signal(list)        # items (the mislabeled list: take the suggestion)

    def __init__(self, thumbnails: ThumbnailSource, parent=None):
        super().__init__(parent)
        self.setModel(ReviewModel(thumbnails, self))
        self.setItemDelegate(ReviewDelegate(self))
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)  # lets 50,000 items lay out without measuring each
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSpacing(4)
        self.setWordWrap(False)
        self.doubleClicked.connect(lambda index: self.openRequested.emit(self.model().item(index.row())))
        self.accept_keys = False  # the mislabeled list turns on Enter/A = accept the suggestion

    def set_items(self, items: list[ReviewItem]) -> None:
        self.model().set_items(items)
        if items:
            self.setCurrentIndex(self.model().index(0))

    def selected_items(self) -> list[ReviewItem]:
        rows = sorted(index.row() for index in self.selectionModel().selectedIndexes())
        if not rows and self.currentIndex().isValid():
            rows = [self.currentIndex().row()]
        return [self.model().item(row) for row in rows]

    def keyPressEvent(self, event) -> None:
        key, text = event.key(), event.text()
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        chosen = self.selected_items()
        if modifiers == Qt.KeyboardModifier.NoModifier and chosen:
            if text in tuple("123456789"):
                self.relabelRequested.emit(chosen, int(text) - 1)
                return
            if key == Qt.Key.Key_X:
                self.excludeRequested.emit(chosen)
                return
            if self.accept_keys and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_A):
                self.acceptRequested.emit(chosen)
                return
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
                self.openRequested.emit(chosen[0])
                return
        super().keyPressEvent(event)


class GalleryEditor(QObject):
    """Carries out what a gallery asks, on the project and through the undo stack: relabel to
    the n-th class (the Label view's keys), exclude from training, open large. Shared by the
    cell gallery and the mislabeled list so that a key means the same everywhere."""

    notice = Signal(str)  # a sentence for the view to show (e.g. "there is no class 7")

    def __init__(self, context, gallery: ReviewGallery):
        super().__init__(gallery)
        self.context = context
        self.gallery = gallery
        gallery.relabelRequested.connect(self.relabel_to_position)
        gallery.excludeRequested.connect(self.toggle_excluded)
        gallery.openRequested.connect(self.open_large)

    def _ids(self, items: list[ReviewItem]) -> list[int]:
        ids = [item.image_id for item in items if item.image_id is not None]
        if len(ids) < len(items):
            self.notice.emit("Some of these images are not in the project any more, so they "
                             "cannot be changed here.")
        return ids

    def relabel_to_position(self, items: list[ReviewItem], position: int) -> None:
        classes = self.context.project.classes() if self.context.project else []
        if position >= len(classes):
            self.notice.emit(f"There is no class number {position + 1}; the project has "
                             f"{len(classes)} classes.")
            return
        self.relabel(items, classes[position].id, classes[position].name)

    def relabel(self, items: list[ReviewItem], class_id: int, class_name: str) -> None:
        from mbv2gui.gui.common.undo_commands import SetLabels

        ids = self._ids(items)
        if ids:
            text = f"Label {len(ids)} image{'s' if len(ids) > 1 else ''} “{class_name}”"
            self.context.undo_stack.push(SetLabels(self.context, {i: class_id for i in ids}, text))

    def toggle_excluded(self, items: list[ReviewItem]) -> None:
        """X excludes the images from training; on images that are all excluded, X includes
        them again (so the key is its own way back, besides undo)."""
        ids = self._ids(items)
        if not ids:
            return
        from mbv2gui.gui.common.undo_commands import SetExcluded

        flag = not all(record.excluded for record in self.context.project.images(ids))
        self.context.undo_stack.push(SetExcluded(
            self.context, {i: flag for i in ids},
            f"{'Exclude' if flag else 'Include'} {len(ids)} image(s)"))

    def open_large(self, item: ReviewItem) -> None:
        LargeImageDialog(self.context, item, self.gallery).open()


class LargeImageDialog(QDialog):
    """One image at a readable size. The file is decoded in a job, not on the GUI thread."""

    MAX_SIDE, MIN_SIDE = 1024, 480

    def __init__(self, context, item: ReviewItem, parent=None):
        super().__init__(parent)
        self.setWindowTitle(os.path.basename(item.path))
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.image_label = QLabel("Loading…")
        self.image_label.setMinimumSize(320, 320)
        caption = QLabel("\n".join(item.lines))
        layout = QVBoxLayout(self)
        for label, stretch in ((self.image_label, 1), (caption, 0)):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(label, stretch)
        self.job = context.jobs.start(_load_rgb, item.path, self.MAX_SIDE, name="opening an image")
        self.job.finished.connect(self._show)
        self.job.failed.connect(lambda text, _detail: self.image_label.setText(text))

    def _show(self, rgb) -> None:
        height, width, _ = rgb.shape
        image = QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
        if max(width, height) < self.MIN_SIDE:  # a 100 px photo is no larger than its thumbnail
            image = image.scaled(self.MIN_SIDE, self.MIN_SIDE, Qt.AspectRatioMode.KeepAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)
        self.image_label.setPixmap(QPixmap.fromImage(image))
        self.adjustSize()


def _load_rgb(path: str, max_side: int, report, should_stop):
    from mbv2gui.core.files.images import load_rgb

    return load_rgb(path, max_side=max_side)
