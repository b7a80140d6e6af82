"""The large preview of the current image, with what the project knows about it, and the two
per-image settings: which split it is pinned to, and "exclude from training".

The file is decoded in a pool thread (core.images.load_pil, at most ~1024 px) into a QImage;
only the newest request is shown, so holding an arrow key never queues up decodes. The split
and exclude controls only ask (signals): LabelView applies them to the whole selection.
"""

from __future__ import annotations

import html
import os

from PySide6.QtCore import QObject, QRect, QRunnable, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QImage, QPainter, QPixmap
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QLabel, QMenu, QSizePolicy,
                               QVBoxLayout, QWidget)

from mbv2gui.core.files.images import ImageError, load_pil
from mbv2gui.core.store.splits import SPLIT_WORDS
from mbv2gui.gui.common import colors

PREVIEW_MAX_SIDE = 1024
SPLITS = tuple(SPLIT_WORDS.items())  # (value, words) pairs for the split menus


def file_size_text(size: int | None) -> str:
    if size is None:
        return "unknown size"
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


class _Signals(QObject):
    loaded = Signal(int, QImage, str)  # request number, image, failure reason


class _Load(QRunnable):
    def __init__(self, signals: _Signals, token: int, path: str):
        super().__init__()
        self.signals, self.token, self.path = signals, token, path

    def run(self) -> None:  # a pool thread
        try:
            image = load_pil(self.path, max_side=PREVIEW_MAX_SIDE)
            if max(image.size) > PREVIEW_MAX_SIDE:
                image.thumbnail((PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE))
            data = image.tobytes()
            qimage = QImage(data, image.width, image.height, 3 * image.width,
                            QImage.Format.Format_RGB888).copy()  # copy: `data` dies here
            self.signals.loaded.emit(self.token, qimage, "")
        except ImageError as exc:
            self.signals.loaded.emit(self.token, QImage(), exc.reason)


class ImageArea(QWidget):
    """Paints the pixmap scaled to fit (never above 3x, so a tiny image does not turn to mush)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.pixmap = QPixmap()
        self.message = ""
        self.setMinimumSize(160, 160)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)  # a square: the facts sit right under the picture
        self.setSizePolicy(policy)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return width

    def sizeHint(self) -> QSize:
        return QSize(320, 320)

    def show_pixmap(self, pixmap: QPixmap, message: str = "") -> None:
        self.pixmap, self.message = pixmap, message
        self.update()

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        if self.pixmap.isNull():
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(self.rect().adjusted(8, 8, -8, -8),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message)
            return
        size = self.pixmap.size()
        bound = self.size().boundedTo(size * 3)
        size = size.scaled(bound, Qt.AspectRatioMode.KeepAspectRatio)
        # Top-aligned, so the facts under it stay close to the picture.
        target = QRect((self.width() - size.width()) // 2, 0, size.width(), size.height())
        painter.drawPixmap(target, self.pixmap)


class Preview(QWidget):
    splitRequested = Signal(str)       # "auto" | "train" | "validation" | "test"
    excludeRequested = Signal(bool)

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.context = context
        self.image_id: int | None = None
        self._source = None  # (path, content hash) of the pixels on screen
        self._selected = 1
        self._token = 0
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._signals = _Signals(self)
        self._signals.loaded.connect(self._on_loaded)
        self.area = ImageArea()
        self.name = QLabel()
        self.name.setObjectName("previewName")
        self.name.setWordWrap(True)
        self.name.setTextFormat(Qt.TextFormat.PlainText)  # a file name is never markup
        self.name.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.name.font()
        font.setBold(True)
        self.name.setFont(font)
        self.details, self.label, self.status, self.selection = QLabel(), QLabel(), QLabel(), QLabel()
        self.status.setWordWrap(True)
        self.selection.setWordWrap(True)
        self.split = QComboBox()
        for value, text in SPLITS:
            self.split.addItem(text, value)
        self.split.setToolTip("Automatic: mbv2gui picks training or validation for this image.\n"
                              "Pin it to a split to decide yourself.")
        self.split.activated.connect(lambda i: self.splitRequested.emit(self.split.itemData(i)))
        self.exclude = QCheckBox("Exclude from training")
        self.exclude.clicked.connect(lambda *_: self.excludeRequested.emit(self.exclude.isChecked()))
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Label", self.label)
        form.addRow("Size", self.details)
        form.addRow("Split", self.split)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.area)
        layout.addWidget(self.name)
        layout.addLayout(form)
        layout.addWidget(self.exclude)
        layout.addWidget(self.status)
        layout.addWidget(self.selection)
        layout.addStretch(1)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._context_menu)
        self.show_image(None)

    def show_image(self, image_id: int | None, selected: int = 1) -> None:
        """Shows image `image_id` (None: nothing); `selected` says how many the controls affect."""
        project = self.context.project
        record = project.image(image_id) if project is not None and image_id is not None else None
        self.image_id = record.id if record else None
        self._selected = selected
        for widget in (self.split, self.exclude):
            widget.setEnabled(record is not None)
        self.selection.setText(f"{selected:,} images selected: the split and exclude settings "
                               "apply to all of them." if record and selected > 1 else "")
        self.selection.setVisible(bool(self.selection.text()))
        if record is None:
            self._source = None
            self.area.show_pixmap(QPixmap(), "Select an image to see it here.")
            for label in (self.name, self.details, self.label, self.status):
                label.clear()
            return
        self.name.setText(os.path.basename(record.path))
        self.name.setToolTip(record.path)
        pixels = f"{record.width} × {record.height} px · " if record.width else ""
        self.details.setText(pixels + file_size_text(record.size))
        info = next((c for c in project.classes() if c.id == record.class_id), None)
        self.label.setText(f"<span style='color:{info.color}'>●</span> {html.escape(info.name)}" if info
                           else "<i>unlabeled</i>")
        self.split.setCurrentIndex(max(0, self.split.findData(record.split)))
        self.exclude.setChecked(record.excluded)
        problem = record.status != "ok"
        self.status.setText(f"<span style='color:{colors.ERROR}'><b>{record.status.capitalize()}:</b> "
                            f"{html.escape(record.reason or 'no reason recorded')}</span>"
                            if problem else "")
        self.status.setVisible(problem)  # an empty label would still take a line
        if (record.path, record.content_hash) != self._source:
            self._source = (record.path, record.content_hash)
            self._load(record.path)

    def refresh(self) -> None:
        """Re-reads the shown image's facts (its label or split changed); keeps the pixels."""
        self.show_image(self.image_id, self._selected)

    def _load(self, path: str) -> None:
        self._token += 1
        self._pool.clear()  # a decode not yet started is no longer wanted
        self.area.show_pixmap(QPixmap(), "Loading…")
        self._pool.start(_Load(self._signals, self._token, path))

    def _on_loaded(self, token: int, image: QImage, reason: str) -> None:
        if token != self._token:
            return
        if reason:
            self.area.show_pixmap(QPixmap(), f"This file cannot be shown: {reason}.")
        else:
            self.area.show_pixmap(QPixmap.fromImage(image))

    def shutdown(self) -> None:
        self._pool.clear()
        self._pool.waitForDone(3000)

    def _context_menu(self, pos) -> None:
        if self.image_id is None:
            return
        menu = QMenu(self)
        for value, text in SPLITS:
            action = menu.addAction(f"Split: {text}", lambda v=value: self.splitRequested.emit(v))
            action.setCheckable(True)
            action.setChecked(self.split.currentData() == value)
        menu.addSeparator()
        exclude = menu.addAction("Exclude from training",
                                 lambda: self.excludeRequested.emit(not self.exclude.isChecked()))
        exclude.setCheckable(True)
        exclude.setChecked(self.exclude.isChecked())
        menu.exec(self.mapToGlobal(pos))
