"""What the Predict view shows before anything is predicted: a dashed drop zone that says
what to do (or that a model must be trained first), with buttons for those who do not drag."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy,
                               QVBoxLayout, QWidget)


class DropZonePage(QWidget):
    imagesRequested = Signal()  # "Choose Images…"
    folderRequested = Signal()  # "Choose a Folder…"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("emptyPage")
        zone = QFrame()
        zone.setObjectName("dropZone")
        zone.setMaximumSize(620, 320)
        zone.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.title = QLabel()
        self.title.setObjectName("emptyTitle")
        self.text = QLabel()
        self.text.setObjectName("emptyText")
        self.text.setWordWrap(True)
        self.images_button = QPushButton("Choose Images…")
        self.images_button.clicked.connect(self.imagesRequested)
        self.folder_button = QPushButton("Choose a Folder…")
        self.folder_button.clicked.connect(self.folderRequested)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.images_button)
        buttons.addWidget(self.folder_button)
        buttons.addStretch(1)
        inner = QVBoxLayout(zone)
        inner.setContentsMargins(36, 30, 36, 30)
        inner.addStretch(1)
        for label in (self.title, self.text):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            inner.addWidget(label)
            inner.addSpacing(8)
        inner.addSpacing(10)
        inner.addLayout(buttons)
        inner.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(zone, 4)
        row.addStretch(1)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        outer.addLayout(row, 3)
        outer.addStretch(2)

    def set_ready(self, ready: bool) -> None:
        """Ready: a model can predict, so invite a drop; else say to train first."""
        self.title.setText("Drop images here" if ready else "No trained model yet")
        self.text.setText(
            "Drop a few images to see what the model thinks they are, how sure it is, and "
            "where it looked. Drop a folder to predict all of its images at once."
            if ready else "Train a model in the Train view first; then drop new images here "
                          "to try it.")
        for button in (self.images_button, self.folder_button):
            button.setEnabled(ready)
            button.setVisible(ready)
