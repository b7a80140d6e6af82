"""Accepting the model's confident suggestions for unlabeled images as their labels: the
threshold dialog, and the undoable command that sets the labels (core decides which ones:
mbv2gui.core.inference.suggestions.accept_suggestions)."""

from __future__ import annotations

from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFormLayout, QLabel, QSpinBox,
                               QVBoxLayout)

from mbv2gui.core.inference.suggestions import accept_suggestions
from mbv2gui.core.words import plural
from mbv2gui.gui.common.undo_commands import SetLabels


class AcceptSuggestionsCommand(SetLabels):
    """Labels images with their suggested classes ({image id: class id}); undo puts back the
    labels they had (None: unlabeled), as `Project.set_labels` returns them."""

    def __init__(self, context, labels: dict[int, int]):
        super().__init__(context, labels, f"Accept suggestions for {plural(len(labels), 'image')}")


class AcceptThresholdDialog(QDialog):
    """"Accept suggestions at or above N% confidence", saying how many images that labels."""

    def __init__(self, project, parent=None, percent: int = 90):
        super().__init__(parent)
        self.project = project
        self.setWindowTitle("Accept Suggestions")
        self.spin = QSpinBox(self)
        self.spin.setRange(0, 100)
        self.spin.setSuffix(" %")
        self.spin.setValue(percent)
        self.spin.setToolTip("Only suggestions at least this confident become labels.")
        self.count = QLabel(self)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel, self)
        self.buttons.button(QDialogButtonBox.Ok).setText("Accept")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Lowest confidence to accept:", self.spin)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Label the unlabeled images with the model's suggestions where "
                                "it is confident enough. You can undo this.", self))
        layout.addLayout(form)
        layout.addWidget(self.count)
        layout.addWidget(self.buttons)
        self.spin.valueChanged.connect(self._update_count)
        self._update_count()

    def threshold(self) -> float:
        return self.spin.value() / 100.0

    def _update_count(self) -> None:
        n = len(accept_suggestions(self.project, self.threshold()))
        self.count.setText(f"{plural(n, 'image')} will be labeled." if n else
                           "No unlabeled image has a suggestion this confident.")
        self.buttons.button(QDialogButtonBox.Ok).setEnabled(n > 0)


def ask_accept_threshold(parent, project, percent: int = 90) -> float | None:
    """The confidence (0..1) the user chose, or None if they cancelled."""
    dialog = AcceptThresholdDialog(project, parent, percent)
    try:
        return dialog.threshold() if dialog.exec() == QDialog.Accepted else None
    finally:
        dialog.deleteLater()
