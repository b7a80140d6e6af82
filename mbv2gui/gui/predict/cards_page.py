"""The Predict view's cards page: one card per image predicted one by one (up to CARD_LIMIT),
each with its heat map (made as an engine job when asked for a class) and "Add to project".

The Predict view owns the prediction job and the settings; this page shows its answers and
follows the toolbar (threshold, heat map on or off, opacity) and the project (its classes,
which images are in it)."""

from __future__ import annotations

import os

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton,
                               QScrollArea, QVBoxLayout, QWidget)

from mbv2gui.core.errors import UserError
from mbv2gui.core.inference.prediction_jobs import heatmap_for
from mbv2gui.gui.common.flow_layout import FlowLayout
from mbv2gui.gui.predict.predict_commands import add_predicted_image
from mbv2gui.gui.predict.prediction_card import PredictionCard


class CardsPage(QWidget):
    shown = Signal(int)  # cards were made (how many)

    def __init__(self, context, notice, parent=None):
        """`notice`: the view's NoticeBar, where adding an image says what it did."""
        super().__init__(parent)
        self.context, self.notice = context, notice
        self.run = None  # the Run whose answers the cards show (set by the view)
        self.cards: list[PredictionCard] = []
        self._heatmap_jobs: set = set()
        self.setObjectName("cardsPage")
        self.caption = QLabel()
        self.caption.setObjectName("cardsCaption")
        self.caption.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(8)
        self.progress.setMaximumWidth(220)
        self.cancel_button = QPushButton("Cancel")
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Remove these predictions from the view (the files stay "
                                     "where they are).")
        self.back_button = QPushButton("← All Results")
        self.back_button.setToolTip("Back to the table of the folder you predicted.")
        header = QHBoxLayout()
        header.setContentsMargins(14, 10, 14, 0)
        header.addWidget(self.back_button)
        header.addWidget(self.caption, 1)
        header.addWidget(self.progress)
        header.addWidget(self.cancel_button)
        header.addWidget(self.clear_button)
        self.canvas = QWidget()
        self.canvas.setObjectName("cardsCanvas")
        self.flow = FlowLayout(self.canvas)
        self.flow.setContentsMargins(14, 12, 14, 14)
        self.scroll = QScrollArea()
        self.scroll.setObjectName("cardsScroll")
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(self.canvas)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.scroll, 1)

    def set_running(self, running: bool, has_table: bool) -> None:
        """`has_table`: a folder's results exist to go back to."""
        self.back_button.setVisible(has_table)
        self.progress.setVisible(running)
        self.cancel_button.setVisible(running)
        self.clear_button.setVisible(not running)

    def is_making_heatmaps(self) -> bool:
        return bool(self._heatmap_jobs)

    # ----------------------------------------------------------------- the cards
    def show_rows(self, rows: list[dict], threshold: float, opacity: float,
                  heatmap_visible: bool) -> None:
        self.clear()
        names = list(self.run.class_names) if self.run is not None else []
        colors = self._class_colors()
        choices = self.context.project.class_names() if self.context.project else []
        for row in rows:
            card = PredictionCard(row, names, colors)
            card.set_threshold(threshold)
            card.set_opacity(opacity)
            card.set_heatmap_visible(heatmap_visible)
            card.set_label_choices(choices)
            card.heatmapRequested.connect(self._request_heatmap)
            card.addRequested.connect(self.add_to_project)
            self.flow.addWidget(card)
            card.show()  # at once (a layout would show it only on the next event-loop turn)
            self.cards.append(card)
        self.refresh_in_project()
        self.caption_cards()
        self.shown.emit(len(self.cards))

    def set_threshold(self, threshold: float) -> None:
        for card in self.cards:
            card.set_threshold(threshold)
        self.caption_cards()

    def set_heatmap_visible(self, on: bool) -> None:
        for card in self.cards:
            card.set_heatmap_visible(on)
            if on and card.heatmap is None and card.pixels is not None:
                self._request_heatmap(card, card.row["class_index"])

    def set_opacity(self, opacity: float) -> None:
        for card in self.cards:
            card.set_opacity(opacity)

    def caption_cards(self) -> None:
        if not self.cards:
            return
        errors = sum(card.is_error() for card in self.cards)
        uncertain = sum(card.is_uncertain() for card in self.cards)
        parts = [f"{len(self.cards) - errors} image{'s' if len(self.cards) - errors != 1 else ''}"]
        if uncertain:
            parts.append(f"{uncertain} uncertain")
        if errors:
            parts.append(f"{errors} could not be read")
        self.caption.setText(" · ".join(parts) + ". Click a class to see where the model "
                             "looked for it; add an image to the project to teach it.")

    def clear(self) -> None:
        for card in self.cards:
            self.flow.removeWidget(card)
            card.deleteLater()
        self.cards = []

    def _class_colors(self) -> dict[str, str]:
        project = self.context.project
        return {c.name: c.color for c in project.classes()} if project is not None else {}

    # ----------------------------------------------------------------- heat maps
    def _request_heatmap(self, card: PredictionCard, class_index: int) -> None:
        if self.run is None:
            return
        card.pending_class = class_index
        job = self.context.jobs.start_in_engine(heatmap_for, self.run, card.path, class_index,
                                                name="making a heat map")
        job.ask_before_quit = False
        self._heatmap_jobs.add(job)
        job.finished.connect(lambda result, card=card: self._on_heatmap(card, result))
        job.failed.connect(lambda message, _detail, card=card: self._on_heatmap_failed(card, message))
        job.ended.connect(self._forget_heatmap_jobs)

    def _forget_heatmap_jobs(self) -> None:
        self._heatmap_jobs = {job for job in self._heatmap_jobs if job.is_running()}

    def _on_heatmap(self, card: PredictionCard, result: dict) -> None:
        if card in self.cards and card.pending_class == result["class_index"]:
            card.set_heatmap(result["class_index"], result["heatmap"])

    def _on_heatmap_failed(self, card: PredictionCard, message: str) -> None:
        if card in self.cards:
            card.heatmap_failed(message)

    # ----------------------------------------------------------------- the project
    def add_to_project(self, card: PredictionCard, label: str) -> None:
        """Adds the card's image to the project as `label` (undoable)."""
        if self.context.project is None:
            return
        try:
            add_predicted_image(self.context, card.path, label)
        except UserError as exc:
            self.notice.show_notice(exc.message, level="error", detail=exc.detail)
            return
        card.set_in_project(label.strip(), added_here=True)
        stack = self.context.undo_stack  # the add is the stack's last command now
        self.notice.show_notice(f"Added {os.path.basename(card.path)} to the project as "
                                f"“{label.strip()}”.", undo=(stack, stack.command(stack.index() - 1)))

    def refresh_in_project(self) -> None:
        project = self.context.project
        if project is None or not self.cards:
            return
        names = {c.id: c.name for c in project.classes()}
        for card in self.cards:
            digest = card.row.get("content_hash")
            image_id = project.find_by_hash(digest) if digest else None
            record = project.image(image_id) if image_id is not None else None
            if record is None:
                card.set_in_project(None)
            else:
                card.set_in_project(names.get(record.class_id, "unlabeled"), card.added_here)

    def on_classes_changed(self) -> None:
        colors = self._class_colors()
        choices = self.context.project.class_names() if self.context.project else []
        for card in self.cards:
            card.set_colors(colors)
            card.set_label_choices(choices)
        self.refresh_in_project()
