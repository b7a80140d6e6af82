"""A slim, non-blocking notice above the views: one sentence, a few action links, a close
button. Used where a dialog would interrupt for no reason (an import summary, missing files on
open, a job that failed while the person was doing something else)."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMessageBox, QPushButton, QToolButton

Action = tuple[str, Callable[[], None]]

AUTO_HIDE_MS = 10_000


class NoticeBar(QFrame):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("noticeBar")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(12, 6, 6, 6)
        self._layout.addWidget(self.label, 1)
        self._buttons: list[QPushButton] = []
        close = QToolButton()
        close.setObjectName("noticeClose")
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        self._close = close
        self._layout.addWidget(close)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.hide()

    def show_notice(self, text: str, actions: list[Action] = (), level: str = "info",
                    detail: str = "") -> None:
        """Shows `text` (replacing any earlier notice). A notice with actions stays until
        dismissed; a plain one hides itself after a few seconds."""
        for button in self._buttons:
            button.deleteLater()
        self._buttons = []
        if detail:
            actions = [*actions, ("Details…", lambda: self._show_detail(text, detail))]
        for index, (title, callback) in enumerate(actions):
            button = QPushButton(title)
            button.setObjectName("noticeAction")
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.clicked.connect(callback)
            self._layout.insertWidget(1 + index, button)
            self._buttons.append(button)
        self.label.setText(text)
        self.setProperty("level", level)
        self.style().unpolish(self)  # re-apply the stylesheet for the new level
        self.style().polish(self)
        self.show()
        if actions:
            self._timer.stop()
        else:
            self._timer.start(AUTO_HIDE_MS)

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""

    def action_titles(self) -> list[str]:
        return [button.text() for button in self._buttons]

    def trigger(self, title: str) -> None:
        """Presses the action called `title` (for keyboard users and tests)."""
        for button in self._buttons:
            if button.text() == title:
                button.click()
                return
        raise KeyError(title)

    def _show_detail(self, text: str, detail: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, "Details", text, parent=self.window())
        box.setDetailedText(detail)
        box.open()
