"""One predicted image as a card: the picture (with the Grad-CAM heat map over it), the
top-k classes with confidence bars, "Uncertain" when the best is below the threshold, and
"Add to project as <class>".

The card only displays what the Predict view gives it (a row from
mbv2gui.core.inference.prediction_jobs); clicking another class's bar asks the view, through
`heatmapRequested`, for that class's heat map, and "Add" asks it through `addRequested`.
"""

from __future__ import annotations

import os

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPainterPath
from PySide6.QtWidgets import (QComboBox, QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy,
                               QVBoxLayout, QWidget)

from mbv2gui.core.store.project import CLASS_COLORS

CARD_WIDTH = 300
IMAGE_HEIGHT = 210

CARD_STYLE = """
QFrame#predictionCard { background: #ffffff; border: 1px solid #dfe4ec; border-radius: 10px; }
QFrame#predictionCard[uncertain="true"] { border-color: #e8b96a; }
QLabel#cardFile { color: #5b6675; font-size: 9pt; }
QLabel#cardLabel { font-size: 15pt; font-weight: 600; color: #1f2733; }
QLabel#cardConfidence { font-size: 13pt; color: #3b4554; }
QLabel#cardBadge { background: #fff5e5; color: #b26a00; border: 1px solid #f0d3a3;
                   border-radius: 9px; padding: 1px 8px; font-size: 9pt; font-weight: 600; }
QLabel#cardHint { color: #5b6675; font-size: 9pt; }
QLabel#cardError { color: #b3261e; }
QLabel#cardAdded { color: #2e7d32; font-size: 9pt; }
"""


def to_qimage(pixels: np.ndarray) -> QImage:
    """An RGB uint8 HxWx3 array as a QImage that owns its data."""
    pixels = np.ascontiguousarray(pixels[..., :3], dtype=np.uint8)
    height, width = pixels.shape[:2]
    return QImage(pixels.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


class ConfidenceBar(QWidget):
    """One class of the top-k: its name and percentage over a bar as long as the confidence.
    Clicking it asks for the heat map of that class."""

    clicked = Signal(int)  # class index in the run

    def __init__(self, class_index: int, name: str, probability: float, color: str, parent=None):
        super().__init__(parent)
        self.class_index = class_index
        self.name = name
        self.probability = float(probability)
        self.color = QColor(color)
        self.selected = False
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFixedHeight(34)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip(f"{name}: {probability:.1%}. Click to see where the model looked "
                        f"for “{name}”.")

    def set_selected(self, selected: bool) -> None:
        if selected != self.selected:
            self.selected = selected
            self.update()

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(event.position().toPoint()):
            self.clicked.emit(self.class_index)
        super().mouseReleaseEvent(event)

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        area = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        if self.selected:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor("#eef3fc"))
            painter.drawRoundedRect(area, 6, 6)
        inner = area.adjusted(8, 3, -8, -4)
        font = QFont(self.font())
        font.setBold(self.selected)
        painter.setFont(font)
        painter.setPen(QColor("#1f2733"))
        text_rect = QRectF(inner.left(), inner.top(), inner.width(), 17)
        percent = f"{self.probability:.0%}" if self.probability >= 0.01 or self.probability == 0 \
            else "<1%"
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                         percent)
        name_rect = text_rect.adjusted(0, 0, -44, 0)
        name = painter.fontMetrics().elidedText(self.name, Qt.TextElideMode.ElideRight,
                                                int(name_rect.width()))
        painter.drawText(name_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name)
        track = QRectF(inner.left(), inner.bottom() - 7, inner.width(), 7)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#e8ecf2"))
        painter.drawRoundedRect(track, 3.5, 3.5)
        filled = QRectF(track)
        filled.setWidth(max(track.height(), track.width() * min(1.0, max(0.0, self.probability))))
        if self.probability > 0.001:
            painter.setBrush(self.color)
            painter.drawRoundedRect(filled, 3.5, 3.5)
        painter.end()


class PicturePanel(QWidget):
    """The image, fitted into the card's picture area with its aspect kept, rounded corners."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._image = QImage()
        self._message = ""
        self.setFixedHeight(IMAGE_HEIGHT)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_image(self, image: QImage) -> None:
        self._image = image
        self.update()

    def set_message(self, text: str) -> None:
        self._message = text
        self.update()

    def image(self) -> QImage:
        return self._image

    def sizeHint(self) -> QSize:
        return QSize(CARD_WIDTH - 24, IMAGE_HEIGHT)

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        area = QRectF(self.rect())
        path = QPainterPath()
        path.addRoundedRect(area, 8, 8)
        painter.fillPath(path, QColor("#f2f4f7"))
        if not self._image.isNull():
            size = self._image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
            # Tiny images (a 32 px icon) are shown bigger, but not blown up past 6x.
            scale = min(size.width() / max(1, self._image.width()), 6.0)
            w, h = self._image.width() * scale, self._image.height() * scale
            target = QRectF((area.width() - w) / 2, (area.height() - h) / 2, w, h)
            clip = QPainterPath()
            clip.addRoundedRect(target, 8, 8)
            painter.setClipPath(clip)
            painter.drawImage(target, self._image)
        elif self._message:
            painter.setPen(QColor("#8a94a3"))
            painter.drawText(area.adjusted(16, 16, -16, -16),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._message)
        painter.end()


class PredictionCard(QFrame):
    """A predicted image. `row` is one row of `predict_with_heatmaps` (path, label, confidence,
    top_k, error, and for readable files image, content_hash, class_index, heatmap)."""

    heatmapRequested = Signal(object, int)  # (card, class index in the run)
    addRequested = Signal(object, str)  # (card, class name)

    def __init__(self, row: dict, class_names: list[str], colors: dict[str, str] | None = None,
                 parent=None):
        super().__init__(parent)
        self.setObjectName("predictionCard")
        self.setStyleSheet(CARD_STYLE)
        self.setFixedWidth(CARD_WIDTH)
        self.row = row
        self.path = row["path"]
        self.class_names = list(class_names)
        self.colors = dict(colors or {})
        self.threshold = 0.6
        self.heatmap_visible = True
        self.opacity = 0.5
        self.heatmap: np.ndarray | None = row.get("heatmap")
        self.heatmap_class: int | None = row.get("class_index") if self.heatmap is not None else None
        self.pending_class: int | None = None  # a heat map asked for and not here yet
        self.pixels: np.ndarray | None = row.get("image")
        self.bars: list[ConfidenceBar] = []
        self.added_here = False  # added to the project from this card (not found there)
        self._build()
        self._refresh_picture()
        self._refresh_uncertain()

    # ----------------------------------------------------------------- layout
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(6)
        self.picture = PicturePanel()
        layout.addWidget(self.picture)
        self.file_label = QLabel()
        self.file_label.setObjectName("cardFile")
        name = os.path.basename(self.path)
        self.file_label.setText(self.file_label.fontMetrics().elidedText(
            name, Qt.TextElideMode.ElideMiddle, CARD_WIDTH - 30))
        self.file_label.setToolTip(self.path)
        layout.addWidget(self.file_label)

        if self.row.get("error"):
            self.picture.set_message("This file cannot be read")
            self.error_label = QLabel(self.row["error"])
            self.error_label.setObjectName("cardError")
            self.error_label.setWordWrap(True)
            layout.addWidget(self.error_label)
            layout.addStretch(1)
            self.headline = self.confidence_label = self.badge = self.hint = None
            self.add_button = self.label_combo = self.added_label = None
            return

        head = QHBoxLayout()
        head.setSpacing(8)
        self.headline = QLabel(self.row["label"])
        self.headline.setObjectName("cardLabel")
        self.confidence_label = QLabel(f"{self.row['confidence']:.0%}")
        self.confidence_label.setObjectName("cardConfidence")
        self.badge = QLabel("Uncertain")
        self.badge.setObjectName("cardBadge")
        self.badge.setToolTip("The model's best guess is below the confidence you set for "
                              "“uncertain”; check this image yourself.")
        head.addWidget(self.headline)
        head.addStretch(1)
        head.addWidget(self.badge)
        head.addWidget(self.confidence_label)
        layout.addLayout(head)

        for name, probability in self.row["top_k"]:
            index = self.class_names.index(name) if name in self.class_names else -1
            bar = ConfidenceBar(index, name, probability, self.color_of(name))
            bar.clicked.connect(self._on_bar_clicked)
            self.bars.append(bar)
            layout.addWidget(bar)
        self.hint = QLabel()
        self.hint.setObjectName("cardHint")
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)
        layout.addStretch(1)

        add_row = QHBoxLayout()
        add_row.setSpacing(6)
        self.add_button = QPushButton()
        self.add_button.setToolTip("Add this image to the project with the class chosen on "
                                   "the right (Edit → Undo takes it back).")
        self.add_button.clicked.connect(
            lambda: self.addRequested.emit(self, self.label_combo.currentText()))
        self.label_combo = QComboBox()
        self.label_combo.setEditable(True)  # a new class name may be typed
        self.label_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.label_combo.setToolTip("The class to add the image with; pick another one to "
                                    "correct the prediction, or type a new name.")
        self.label_combo.currentTextChanged.connect(self._refresh_add_button)
        add_row.addWidget(self.add_button)
        add_row.addWidget(self.label_combo, 1)
        layout.addLayout(add_row)
        self.added_label = QLabel()
        self.added_label.setObjectName("cardAdded")
        self.added_label.setWordWrap(True)
        self.added_label.hide()
        layout.addWidget(self.added_label)
        self.set_label_choices(self.class_names)

    def color_of(self, name: str) -> str:
        if name in self.colors:
            return self.colors[name]
        index = self.class_names.index(name) if name in self.class_names else 0
        return CLASS_COLORS[index % len(CLASS_COLORS)]  # the project's own palette

    # ----------------------------------------------------------------- public API
    def is_error(self) -> bool:
        return bool(self.row.get("error"))

    def top_labels(self) -> list[str]:
        return [name for name, _p in self.row["top_k"]]

    def confidences(self) -> list[float]:
        return [p for _name, p in self.row["top_k"]]

    def is_uncertain(self) -> bool:
        return not self.is_error() and self.row["confidence"] < self.threshold

    def shown_image(self) -> QImage:
        """The picture as the card shows it (with the heat map over it when that is on), at
        the preview's own size."""
        return self.picture.image()

    def showing_heatmap(self) -> bool:
        return self.heatmap_visible and self.heatmap is not None and self.pixels is not None

    def set_threshold(self, threshold: float) -> None:
        self.threshold = float(threshold)
        self._refresh_uncertain()

    def set_heatmap_visible(self, visible: bool) -> None:
        self.heatmap_visible = bool(visible)
        self._refresh_picture()

    def set_opacity(self, opacity: float) -> None:
        self.opacity = float(opacity)
        if self.showing_heatmap():
            self._refresh_picture()

    def set_heatmap(self, class_index: int, heatmap: np.ndarray) -> None:
        self.heatmap, self.heatmap_class = heatmap, int(class_index)
        self.pending_class = None
        self._refresh_picture()

    def heatmap_failed(self, text: str) -> None:
        self.pending_class = None
        self._refresh_picture()
        if self.hint is not None:
            self.hint.setText(text)

    def set_colors(self, colors: dict[str, str]) -> None:
        self.colors = dict(colors)
        for bar in self.bars:
            bar.color = QColor(self.color_of(bar.name))
            bar.update()

    def set_label_choices(self, names: list[str]) -> None:
        """The classes offered for "Add to project as" (the project's, then the model's)."""
        if self.label_combo is None:
            return
        current = self.label_combo.currentText() or self.row["label"]
        choices = list(dict.fromkeys(list(names) + self.class_names))
        self.label_combo.blockSignals(True)
        self.label_combo.clear()
        self.label_combo.addItems(choices)
        self.label_combo.setCurrentText(current)
        self.label_combo.blockSignals(False)
        self._refresh_add_button()

    def choose_label(self, name: str) -> None:
        if self.label_combo is not None:
            self.label_combo.setCurrentText(name)

    def set_in_project(self, label: str | None, added_here: bool = False) -> None:
        """Says whether (and as what) the image is in the project now."""
        if self.added_label is None:
            return
        self.added_here = bool(added_here and label is not None)
        if label is None:
            self.added_label.hide()
        else:
            what = "Added to the project" if added_here else "In the project"
            self.added_label.setText(f"✓ {what} as “{label}”")
            self.added_label.show()

    # ----------------------------------------------------------------- internals
    def _on_bar_clicked(self, class_index: int) -> None:
        if class_index < 0:
            return
        self.choose_label(self.class_names[class_index])
        if class_index == self.heatmap_class and self.heatmap is not None:
            return
        self.pending_class = class_index
        self._refresh_hint()
        self.heatmapRequested.emit(self, class_index)

    def _refresh_add_button(self) -> None:
        if self.add_button is not None:
            name = self.label_combo.currentText().strip()
            self.add_button.setText("Add to project as")
            self.add_button.setEnabled(bool(name))

    def _refresh_uncertain(self) -> None:
        if self.badge is None:
            return
        uncertain = self.is_uncertain()
        self.badge.setVisible(uncertain)
        self.setProperty("uncertain", "true" if uncertain else "false")
        self.style().unpolish(self)
        self.style().polish(self)

    def _refresh_hint(self) -> None:
        if self.hint is None:
            return
        for bar in self.bars:
            bar.set_selected(bar.class_index == (self.pending_class if self.pending_class is not None
                                                 else self.heatmap_class) and self.heatmap_visible)
        if not self.heatmap_visible:
            self.hint.setText("")
        elif self.pending_class is not None:
            self.hint.setText(f"Making the heat map for “{self.class_names[self.pending_class]}”…")
        elif self.heatmap_class is not None and self.heatmap is not None:
            self.hint.setText(f"Heat map for “{self.class_names[self.heatmap_class]}” · "
                              "click a class for another")
        else:
            self.hint.setText("")

    def _refresh_picture(self) -> None:
        if self.pixels is None:
            if not self.is_error():
                self.picture.set_message("No preview")
            return
        pixels = self.pixels
        if self.showing_heatmap():
            from mbv2gui.core.inference.gradcam import overlay

            pixels = overlay(self.pixels, self.heatmap, self.opacity)
        self.picture.set_image(to_qimage(pixels))
        self._refresh_hint()
