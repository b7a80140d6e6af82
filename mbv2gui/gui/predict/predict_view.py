"""The Predict view (Lobe's "Use"): drop new images and see what the model thinks they are.

A few images (up to CARD_LIMIT files) become cards: the picture with a Grad-CAM heat map over
it, the top classes with confidence bars, "Uncertain" below the threshold, and "Add to project
as <class>". A folder or a bigger drop goes to a sortable table that fills as the job runs,
with Cancel and "Export CSV…". Everything that reads files or runs the model is a job
(mbv2gui.core.inference.prediction_jobs) in the one job runner; TensorFlow never loads on the GUI thread.

The run selector follows `context.currentRunChanged` and sets it. The uncertainty threshold,
the heat-map toggle and its opacity are remembered as project settings.
"""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFrame, QHBoxLayout, QLabel,
                               QProgressBar, QPushButton, QScrollArea,
                               QSlider, QStackedWidget, QVBoxLayout, QWidget)

from mbv2gui.core.errors import UserError
from mbv2gui.core.inference.prediction_jobs import MAX_HEATMAPS, heatmap_for, predict_with_heatmaps
from mbv2gui.gui.predict.batch_results import BatchResults
from mbv2gui.gui.predict.drop_zone_page import DropZonePage
from mbv2gui.gui.common.file_dialogs import choose_image_files
from mbv2gui.gui.common.flow_layout import FlowLayout
from mbv2gui.gui.common.notice_bar import NoticeBar
from mbv2gui.gui.predict.predict_commands import add_predicted_image
from mbv2gui.gui.predict.prediction_card import PredictionCard
from mbv2gui.gui.common.run_combo import RUN_PICKER_CAPTION, fill_run_combo, select_current_run

# A drop of at most this many files (and no folder) becomes cards; anything bigger, a table.
CARD_LIMIT = MAX_HEATMAPS
TOP_K = 3
THRESHOLD_KEY = "predict.uncertain_below"  # project setting, 0..1
HEATMAP_KEY = "predict.heatmap"  # project setting, bool
OPACITY_KEY = "predict.heatmap_opacity"  # project setting, 0..1
EMPTY, CARDS, BATCH = range(3)

VIEW_STYLE = """
QWidget#predictToolbar { background: #ffffff; border-bottom: 1px solid #e6eaf0; }
QLabel#toolbarLabel { color: #5b6675; }
QWidget#emptyPage, QWidget#cardsPage, QWidget#batchPage, QWidget#cardsCanvas, QScrollArea#cardsScroll { background: #f5f7fa; }
QFrame#dropZone { border: 2px dashed #c4ccd8; border-radius: 16px; background: #fafbfd; }
QLabel#emptyTitle { font-size: 17pt; font-weight: 600; color: #1f2733; }
QLabel#emptyText { color: #5b6675; font-size: 11pt; }
QLabel#cardsCaption { color: #5b6675; }
"""


def _toolbar_slider(minimum: int, maximum: int, value: int, tooltip: str) -> QSlider:
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(minimum, maximum)
    slider.setValue(value)
    slider.setMinimumWidth(60)
    slider.setMaximumWidth(110)
    slider.setToolTip(tooltip)
    return slider


def _local_paths(mime) -> list[str]:
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile() and url.toLocalFile()]


class PredictView(QWidget):
    predictionsShown = Signal(int)  # cards were made (how many)

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.context = context
        self.setObjectName("predictView")
        self.setAcceptDrops(True)
        self.run = None  # mbv2gui.core.runs.Run of the selected run
        self._runs: dict[str, object] = {}  # run id -> Run (keeps its loaded model)
        self.cards: list[PredictionCard] = []
        self.card_job = None
        self._card_token = 0  # which card job's answers are wanted (a newer drop wins)
        self.last_paths: list[str] = []
        self._heatmap_jobs: set = set()
        self._unsaved: dict = {}
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(300)
        self._save_timer.timeout.connect(self.save_settings)
        self._build()
        context.projectChanged.connect(lambda _project: self._on_project_changed())
        context.runsChanged.connect(self.reload_runs)
        context.currentRunChanged.connect(lambda _run_id: self._show_run())
        context.imagesChanged.connect(lambda _ids: self._refresh_in_project())
        context.classesChanged.connect(self._on_classes_changed)
        self._on_project_changed()

    # ----------------------------------------------------------------- layout
    def _build(self) -> None:
        self.setStyleSheet(VIEW_STYLE)
        self.run_combo = QComboBox()
        self.run_combo.setMinimumContentsLength(23)
        self.run_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.run_combo.setToolTip("The trained model that makes the predictions.")
        self.run_combo.activated.connect(
            lambda i: self.context.set_current_run(self.run_combo.itemData(i) or ""))
        self.threshold_slider = _toolbar_slider(
            1, 99, 60, "A prediction less sure than this is marked “Uncertain”.")
        self.threshold_slider.valueChanged.connect(self._on_threshold_changed)
        self.threshold_value = QLabel("60%")
        self.threshold_value.setMinimumWidth(34)
        self.heatmap_check = QCheckBox("Heat map")
        self.heatmap_check.setChecked(True)
        self.heatmap_check.setToolTip("Color where in the image the model looked: red most, "
                                      "blue least (Grad-CAM).")
        self.heatmap_check.toggled.connect(self._on_heatmap_toggled)
        self.opacity_slider = _toolbar_slider(
            0, 100, 50, "Heat map opacity: how strongly it covers the image.")
        self.opacity_slider.valueChanged.connect(self._on_opacity_changed)
        self.images_button = QPushButton("Predict Images…")
        self.images_button.setObjectName("primaryButton")
        self.images_button.clicked.connect(self.choose_images)
        self.folder_button = QPushButton("Predict a Folder…")
        self.folder_button.clicked.connect(self.choose_folder)

        toolbar = QWidget()
        toolbar.setObjectName("predictToolbar")
        toolbar.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        bar = QHBoxLayout(toolbar)
        bar.setContentsMargins(14, 10, 14, 10)
        bar.setSpacing(6)

        def caption(text):
            label = QLabel(text)
            label.setObjectName("toolbarLabel")
            return label

        for widget in (caption(RUN_PICKER_CAPTION), self.run_combo):
            bar.addWidget(widget)
        bar.addSpacing(12)
        for widget in (caption("Uncertain below"), self.threshold_slider, self.threshold_value):
            bar.addWidget(widget)
        bar.addSpacing(12)
        for widget in (self.heatmap_check, self.opacity_slider):
            bar.addWidget(widget)
        bar.addStretch(1)
        bar.addWidget(self.folder_button)
        bar.addWidget(self.images_button)

        self.notice = NoticeBar()
        self.pages = QStackedWidget()
        self.empty_page = DropZonePage()
        self.empty_page.imagesRequested.connect(self.choose_images)
        self.empty_page.folderRequested.connect(self.choose_folder)
        self.pages.addWidget(self.empty_page)
        self.pages.addWidget(self._build_cards_page())
        self.batch = BatchResults(self.context)
        self.batch.openRequested.connect(lambda path: self.predict_paths([path]))
        batch_page = QWidget()
        batch_page.setObjectName("batchPage")
        batch_layout = QVBoxLayout(batch_page)
        batch_layout.setContentsMargins(14, 12, 14, 14)
        batch_layout.addWidget(self.batch)
        self.pages.addWidget(batch_page)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(toolbar)
        layout.addWidget(self.notice)
        layout.addWidget(self.pages, 1)

    def _build_cards_page(self) -> QWidget:
        page = QWidget()
        page.setObjectName("cardsPage")
        self.cards_caption = QLabel()
        self.cards_caption.setObjectName("cardsCaption")
        self.cards_caption.setWordWrap(True)
        self.cards_progress = QProgressBar()
        self.cards_progress.setTextVisible(False)
        self.cards_progress.setFixedHeight(8)
        self.cards_progress.setMaximumWidth(220)
        self.cards_cancel = QPushButton("Cancel")
        self.cards_cancel.clicked.connect(self.cancel)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Remove these predictions from the view (the files stay "
                                     "where they are).")
        self.clear_button.clicked.connect(self.clear)
        header = QHBoxLayout()
        header.setContentsMargins(14, 10, 14, 0)
        self.back_button = QPushButton("← All Results")
        self.back_button.setToolTip("Back to the table of the folder you predicted.")
        self.back_button.clicked.connect(lambda: self.pages.setCurrentIndex(BATCH))
        header.addWidget(self.back_button)
        header.addWidget(self.cards_caption, 1)
        header.addWidget(self.cards_progress)
        header.addWidget(self.cards_cancel)
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
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.scroll, 1)
        return page

    # ----------------------------------------------------------------- project and runs
    def _on_project_changed(self) -> None:
        self._save_timer.stop()
        self._unsaved.clear()  # the closed project's store is gone; nothing to write there
        self.cancel()
        self.batch.cancel()
        self._runs.clear()
        self.last_paths = []
        self._clear_cards()
        self._load_settings()
        self.reload_runs()
        self.pages.setCurrentIndex(EMPTY)

    def _load_settings(self) -> None:
        project = self.context.project
        get = (lambda key, default: project.setting(key, default)) if project is not None \
            else (lambda key, default: default)
        for widget, value in ((self.threshold_slider, round(100 * float(get(THRESHOLD_KEY, 0.6)))),
                              (self.opacity_slider, round(100 * float(get(OPACITY_KEY, 0.5))))):
            widget.blockSignals(True)
            widget.setValue(value)
            widget.blockSignals(False)
        self.heatmap_check.blockSignals(True)
        self.heatmap_check.setChecked(bool(get(HEATMAP_KEY, True)))
        self.heatmap_check.blockSignals(False)
        self.opacity_slider.setEnabled(self.heatmap_check.isChecked())
        self.threshold_value.setText(f"{self.threshold_slider.value()}%")
        self.batch.set_threshold(self.threshold())

    def reload_runs(self) -> None:
        fill_run_combo(self.run_combo, self.context)
        self._show_run()

    def _show_run(self) -> None:
        from mbv2gui.core.runs import Run

        # An unknown id (a deleted run, or none chosen yet) means the best run.
        record = select_current_run(self.run_combo, self.context)
        previous = self.run
        self.run = None
        if record is not None:
            try:
                self.run = self._runs.get(record.id) or Run.load(record.run_dir)
                self._runs[record.id] = self.run
            except UserError as exc:
                self.notice.show_notice(exc.message, level="error", detail=exc.detail)
        self._set_empty_text()
        changed = (previous is not None and self.run is not None
                   and previous.run_id != self.run.run_id)
        if changed and self.last_paths and self.pages.currentIndex() == CARDS:
            self.predict_paths(self.last_paths)  # the same images, answered by the other model
        elif changed and self.pages.currentIndex() == BATCH and not self.batch.is_running():
            self.pages.setCurrentIndex(EMPTY)

    def _set_empty_text(self) -> None:
        ready = self.run is not None
        self.empty_page.set_ready(ready)
        for widget in (self.images_button, self.folder_button):
            widget.setEnabled(ready)

    # ----------------------------------------------------------------- settings
    def threshold(self) -> float:
        return self.threshold_slider.value() / 100

    def _save_setting(self, key: str, value) -> None:
        """Remembers a setting in the project; a dragged slider is written once it rests,
        not at every step (each write is a committed transaction)."""
        self._unsaved[key] = value
        self._save_timer.start()

    def save_settings(self) -> None:
        project = self.context.project
        if project is not None:
            for key, value in self._unsaved.items():
                project.set_setting(key, value)
        self._unsaved.clear()

    def _on_threshold_changed(self, value: int) -> None:
        self.threshold_value.setText(f"{value}%")
        self._save_setting(THRESHOLD_KEY, self.threshold())
        for card in self.cards:
            card.set_threshold(self.threshold())
        self.batch.set_threshold(self.threshold())
        self._caption_cards()

    def _on_heatmap_toggled(self, on: bool) -> None:
        self._save_setting(HEATMAP_KEY, bool(on))
        self.opacity_slider.setEnabled(on)
        for card in self.cards:
            card.set_heatmap_visible(on)
            if on and card.heatmap is None and card.pixels is not None:
                self._request_heatmap(card, card.row["class_index"])

    def _on_opacity_changed(self, value: int) -> None:
        self._save_setting(OPACITY_KEY, value / 100)
        for card in self.cards:
            card.set_opacity(value / 100)

    # ----------------------------------------------------------------- predicting
    def choose_images(self) -> None:
        files = choose_image_files(self, "Predict Images")
        if files:
            self.predict_paths(files)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Predict a Folder of Images")
        if folder:
            self.predict_paths([folder])

    def predict_paths(self, paths: list[str]) -> None:
        """What the model thinks `paths` (image files and folders) are: cards for a few files,
        the batch table for a folder or more than CARD_LIMIT files."""
        paths = [str(p) for p in paths if str(p)]
        if not paths:
            return
        if self.run is None:
            self.notice.show_notice("There is no trained model to predict with yet. Train one "
                                    "in the Train view, then drop the images again.",
                                    level="warning")
            return
        if len(paths) > CARD_LIMIT or any(os.path.isdir(p) for p in paths):
            self.cancel()
            self.pages.setCurrentIndex(BATCH)
            self.batch.set_threshold(self.threshold())
            self.batch.start(self.run, paths, TOP_K)
            return
        self.cancel()  # a batch that runs goes on: "All Results" shows it
        self._clear_cards()
        self.last_paths = list(paths)
        self.pages.setCurrentIndex(CARDS)
        self.cards_caption.setText(f"Predicting {len(paths)} image{'s' if len(paths) != 1 else ''}…")
        self.cards_progress.setRange(0, 0)
        self._set_cards_running(True)
        # Heat maps are made with the cards even when hidden: turning them on is then instant.
        job = self.context.jobs.start_in_engine(predict_with_heatmaps, self.run, paths, top_k=TOP_K,
                                                with_heatmap=True, name="predicting images")
        job.ask_before_quit = False
        self._card_token += 1
        token = self._card_token
        job.progress.connect(lambda done, total, text, t=token: self._on_cards_progress(t, done, total, text))
        job.finished.connect(lambda rows, t=token: self._on_cards_finished(t, rows))
        job.failed.connect(lambda text, detail, t=token: self._on_cards_failed(t, text, detail))
        job.cancelled.connect(lambda t=token: self._on_cards_cancelled(t))
        self.card_job = job

    def is_busy(self) -> bool:
        return ((self.card_job is not None and self.card_job.is_running())
                or self.batch.is_running() or bool(self._heatmap_jobs))

    def cancel(self) -> None:
        """Stops the card prediction, if one runs (its answers are dropped)."""
        if self.card_job is not None and self.card_job.is_running():
            self.card_job.cancel()
            self.cards_caption.setText("Cancelled.")
        self.card_job = None
        self._card_token += 1  # whatever it still sends is not wanted
        self._set_cards_running(False)

    def clear(self) -> None:
        self.cancel()
        self._clear_cards()
        self.last_paths = []
        self.pages.setCurrentIndex(EMPTY)

    def _set_cards_running(self, running: bool) -> None:
        self.back_button.setVisible(self.batch.model.rowCount() > 0)
        self.cards_progress.setVisible(running)
        self.cards_cancel.setVisible(running)
        self.clear_button.setVisible(not running)

    def _on_cards_progress(self, token: int, done: int, total, message: str) -> None:
        if token != self._card_token:
            return
        if total:
            self.cards_progress.setRange(0, int(total))
            self.cards_progress.setValue(done)
        if message:
            self.cards_caption.setText(message)

    def _on_cards_finished(self, token: int, rows: list[dict]) -> None:
        if token != self._card_token:
            return  # a cancelled or replaced job's late answer
        self.card_job = None
        self._set_cards_running(False)
        self._make_cards(rows)

    def _on_cards_failed(self, token: int, message: str, detail: str) -> None:
        if token != self._card_token:
            return
        self.card_job = None
        self._set_cards_running(False)
        self.cards_caption.setText("")
        self.notice.show_notice(message, level="error", detail=detail)
        self.pages.setCurrentIndex(EMPTY)

    def _on_cards_cancelled(self, token: int) -> None:
        if token == self._card_token:
            self.card_job = None
            self._set_cards_running(False)
            self.cards_caption.setText("Cancelled.")

    def _make_cards(self, rows: list[dict]) -> None:
        self._clear_cards()
        names = list(self.run.class_names) if self.run is not None else []
        colors = self._class_colors()
        choices = self.context.project.class_names() if self.context.project else []
        for row in rows:
            card = PredictionCard(row, names, colors)
            card.set_threshold(self.threshold())
            card.set_opacity(self.opacity_slider.value() / 100)
            card.set_heatmap_visible(self.heatmap_check.isChecked())
            card.set_label_choices(choices)
            card.heatmapRequested.connect(self._request_heatmap)
            card.addRequested.connect(self.add_to_project)
            self.flow.addWidget(card)
            card.show()  # at once (a layout would show it only on the next event-loop turn)
            self.cards.append(card)
        self._refresh_in_project()
        self._caption_cards()
        self.predictionsShown.emit(len(self.cards))

    def _caption_cards(self) -> None:
        if not self.cards:
            return
        errors = sum(card.is_error() for card in self.cards)
        uncertain = sum(card.is_uncertain() for card in self.cards)
        parts = [f"{len(self.cards) - errors} image{'s' if len(self.cards) - errors != 1 else ''}"]
        if uncertain:
            parts.append(f"{uncertain} uncertain")
        if errors:
            parts.append(f"{errors} could not be read")
        self.cards_caption.setText(" · ".join(parts) + ". Click a class to see where the model "
                                   "looked for it; add an image to the project to teach it.")

    def _clear_cards(self) -> None:
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

    def _refresh_in_project(self) -> None:
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

    def _on_classes_changed(self) -> None:
        colors = self._class_colors()
        choices = self.context.project.class_names() if self.context.project else []
        for card in self.cards:
            card.set_colors(colors)
            card.set_label_choices(choices)
        self._refresh_in_project()

    # ----------------------------------------------------------------- drops
    def dragEnterEvent(self, event) -> None:
        if _local_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        if _local_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = _local_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.predict_paths(paths)
        else:
            event.ignore()
