"""A slim, non-blocking notice above the views: one sentence, a few action links, a close
button. Used where a dialog would interrupt for no reason (an import summary, missing files on
open, a job that failed while the person was doing something else).

A notice goes away on its own: a plain one after a few seconds, an informative one with actions
after half a minute; only a warning or error that asks for a decision (Recover, Relink) stays
until dismissed. A notice offering to undo something (`undo=`) names exactly what its Undo
takes back, and goes away at the person's next undoable action, when its Undo would take back
something else."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QMessageBox, QPushButton,
                               QToolButton, QVBoxLayout)

from mbv2gui.gui.common.flow_layout import FlowLayout

Action = tuple[str, Callable[[], None]]

AUTO_HIDE_MS = 10_000
AUTO_HIDE_WITH_ACTIONS_MS = 30_000


def undo_title(command) -> str:
    """ "Undo import 30 images": the command's own words, so the button says what it takes back."""
    text = command.text()
    return f"Undo {text[:1].lower()}{text[1:]}" if text else "Undo"


class NoticeBar(QFrame):
    """`stacked=True` puts the actions on a row under the sentence, for a narrow column (the
    Train view's controls); by default they stand beside it, for a bar across the window."""

    def __init__(self, parent=None, stacked: bool = False):
        super().__init__(parent)
        self.setObjectName("noticeBar")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.label, 1)
        self._buttons: list[QPushButton] = []
        close = QToolButton()
        close.setObjectName("noticeClose")
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        self._close = close
        top.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        if stacked:
            outer = QVBoxLayout(self)
            outer.setContentsMargins(12, 6, 6, 8)
            outer.addLayout(top)
            # The actions wrap onto more rows rather than widen the column.
            self._layout = FlowLayout(spacing=8)
            outer.addLayout(self._layout)
            self._first_action = None
        else:
            self._layout = top
            self.setLayout(top)
            top.setContentsMargins(12, 6, 6, 6)
            self._first_action = 1  # after the sentence
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self._undo_stack = None  # the stack whose next change ends an undo notice
        self.hide()

    def show_notice(self, text: str, actions: list[Action] = (), level: str = "info",
                    detail: str = "", undo: tuple | None = None) -> None:
        """Shows `text` (replacing any earlier notice). `undo=(stack, command)`: the first
        action undoes exactly `command`, named in its words, and the notice goes away when the
        stack changes (the person did, undid or redid something else)."""
        for button in self._buttons:
            button.deleteLater()
        self._buttons = []
        self._watch_stack(None)
        if undo is not None:
            stack, command = undo
            actions = [(undo_title(command), lambda: self._undo(stack, command)), *actions]
        if detail:
            actions = [*actions, ("Details…", lambda: self._show_detail(text, detail))]
        for index, (title, callback) in enumerate(actions):
            button = QPushButton(title)
            button.setObjectName("noticeAction")
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.clicked.connect(callback)
            if self._first_action is None:  # a flow of actions: in order
                self._layout.addWidget(button)
            else:
                self._layout.insertWidget(self._first_action + index, button)
            self._buttons.append(button)
        self.label.setText(text)
        self.setProperty("level", level)
        self.style().unpolish(self)  # re-apply the stylesheet for the new level
        self.style().polish(self)
        self.show()
        if undo is not None:
            self._watch_stack(undo[0])
        if not actions:
            self._timer.start(AUTO_HIDE_MS)
        elif level == "info":
            self._timer.start(AUTO_HIDE_WITH_ACTIONS_MS)
        else:
            self._timer.stop()

    def _watch_stack(self, stack) -> None:
        if self._undo_stack is not None:
            self._undo_stack.indexChanged.disconnect(self._on_stack_changed)
        self._undo_stack = stack
        if stack is not None:
            stack.indexChanged.connect(self._on_stack_changed)

    def _on_stack_changed(self, _index: int) -> None:
        self._watch_stack(None)
        self.hide()

    def _undo(self, stack, command) -> None:
        """Undoes `command` if it is still the last thing done; never something newer."""
        self._watch_stack(None)
        if stack.index() > 0 and stack.command(stack.index() - 1) is command:
            stack.undo()
        self.hide()

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
