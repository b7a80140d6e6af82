"""What the window shows when no project is open: start a project, open one, or pick up a
recent one; and the hint that dropping a folder of images is enough to begin."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
                               QPushButton, QVBoxLayout, QWidget)

from mbv2gui.gui.shell.settings import recent_projects


class WelcomePage(QWidget):
    newRequested = Signal()
    openRequested = Signal()
    openPathRequested = Signal(str)

    def __init__(self, icon: QIcon | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("welcomePage")
        card = QFrame()
        card.setObjectName("welcomeCard")
        card.setMaximumWidth(560)

        logo = QLabel()
        if icon is not None and not icon.isNull():
            logo.setPixmap(icon.pixmap(72, 72))
        title = QLabel("mbv2gui")
        title.setObjectName("welcomeTitle")
        subtitle = QLabel("Teach the computer to recognise your images — label a few, "
                          "train, and see what it learned. No code.")
        subtitle.setObjectName("welcomeSubtitle")
        subtitle.setWordWrap(True)
        heading = QVBoxLayout()
        heading.addWidget(title)
        heading.addWidget(subtitle)
        top = QHBoxLayout()
        top.addWidget(logo, 0, Qt.AlignmentFlag.AlignTop)
        top.addLayout(heading, 1)

        new_button = QPushButton("New Project…")
        new_button.setObjectName("primaryButton")
        new_button.clicked.connect(self.newRequested)
        open_button = QPushButton("Open Project…")
        open_button.clicked.connect(self.openRequested)
        buttons = QHBoxLayout()
        buttons.addWidget(new_button)
        buttons.addWidget(open_button)
        buttons.addStretch(1)

        drop_hint = QLabel("Or drop a folder of images anywhere on this window. "
                           "Each subfolder becomes a class.")
        drop_hint.setObjectName("dropHint")
        drop_hint.setWordWrap(True)
        drop_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self._recent_title = QLabel("Recent projects")
        self._recent_title.setObjectName("sectionTitle")
        self.recent = QListWidget()
        self.recent.setObjectName("recentProjects")
        self.recent.itemActivated.connect(self._open_item)
        self.recent.itemClicked.connect(self._open_item)

        layout = QVBoxLayout(card)
        layout.setContentsMargins(32, 28, 32, 28)
        layout.setSpacing(14)
        layout.addLayout(top)
        layout.addSpacing(6)
        layout.addLayout(buttons)
        layout.addWidget(drop_hint)
        layout.addSpacing(6)
        layout.addWidget(self._recent_title)
        layout.addWidget(self.recent)

        outer = QVBoxLayout(self)
        outer.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(card, 3)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)
        self.refresh()

    def refresh(self) -> None:
        """Re-reads the recent projects (those that still exist)."""
        self.recent.clear()
        for path in recent_projects():
            name = os.path.splitext(os.path.basename(path))[0]
            item = QListWidgetItem(f"{name}\n{os.path.dirname(path)}")
            item.setData(Qt.ItemDataRole.UserRole, path)
            item.setToolTip(path)
            self.recent.addItem(item)
        has_recent = self.recent.count() > 0
        self._recent_title.setVisible(has_recent)
        self.recent.setVisible(has_recent)

    def recent_paths(self) -> list[str]:
        return [self.recent.item(i).data(Qt.ItemDataRole.UserRole)
                for i in range(self.recent.count())]

    def _open_item(self, item: QListWidgetItem) -> None:
        self.openPathRequested.emit(item.data(Qt.ItemDataRole.UserRole))
