"""One problem the check before training found (core/training/preflight.py): its sentence in
the colour of its level and, when it concerns images, "Show these images"."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QPushButton, QVBoxLayout

from mbv2gui.core.training.preflight import Problem
from mbv2gui.gui.common import colors


class ProblemRow(QFrame):
    """One preflight problem: its sentence and, when it concerns images, "Show these images"."""

    def __init__(self, problem: Problem, show_images, parent=None):
        super().__init__(parent)
        self.problem = problem
        self.setObjectName("problemRow")
        self.setProperty("level", problem.level)
        color = colors.LEVEL_COLORS[problem.level]
        background = colors.ERROR_BACKGROUND if problem.blocking else colors.WARNING_BACKGROUND
        self.setStyleSheet(f"QFrame#problemRow {{ background: {background}; border-radius: 6px; }}"
                           f" QFrame#problemRow QLabel {{ color: {color}; }}")
        self.label = QLabel(problem.text)
        self.label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(4)
        layout.addWidget(self.label)
        self.button = None
        if problem.image_ids:
            self.button = QPushButton("Show these images")
            self.button.setCursor(Qt.CursorShape.PointingHandCursor)
            self.button.clicked.connect(lambda: show_images(problem))
            layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignLeft)
