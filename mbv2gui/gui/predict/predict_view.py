"""The Predict view (Lobe's "Use"): drop new images and see what the model thinks they are.

A few images (up to CARD_LIMIT files) become cards: the picture with a Grad-CAM heat map over
it, the top classes with confidence bars, "Uncertain" below the threshold, and "Add to project
as <class>" (gui/predict/cards_page.py). A folder or a bigger drop goes to a sortable table
that fills as the job runs, with Cancel and "Export CSV…" (batch_results.py). Everything that reads files or runs the model is a job
(mbv2gui.core.inference.prediction_jobs) in the one job runner; TensorFlow never loads on the GUI thread.

The run selector follows `context.currentRunChanged` and sets it. The uncertainty threshold,
the heat-map toggle and its opacity are remembered as project settings.
"""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QLabel,
                               QPushButton, QSlider, QStackedWidget, QVBoxLayout, QWidget)

from mbv2gui.core.errors import UserError
from mbv2gui.core.inference.prediction_jobs import MAX_HEATMAPS, predict_with_heatmaps
from mbv2gui.gui.predict.batch_results import BatchResults
from mbv2gui.gui.predict.drop_zone_page import DropZonePage
from mbv2gui.gui.common.file_dialogs import choose_image_files
from mbv2gui.gui.common.notice_bar import NoticeBar
from mbv2gui.gui.predict.cards_page import CardsPage
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
        self.card_job = None
        self._card_token = 0  # which card job's answers are wanted (a newer drop wins)
        self.last_paths: list[str] = []
        self._unsaved: dict = {}
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(300)
        self._save_timer.timeout.connect(self.save_settings)
        self._build()
        context.projectChanged.connect(lambda _project: self._on_project_changed())
        context.runsChanged.connect(self.reload_runs)
        context.currentRunChanged.connect(lambda _run_id: self._show_run())
        context.imagesChanged.connect(lambda _ids: self.cards_page.refresh_in_project())
        context.classesChanged.connect(lambda: self.cards_page.on_classes_changed())
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
        self.cards_page = CardsPage(self.context, self.notice)
        self.cards_page.shown.connect(self.predictionsShown)
        self.cards_page.cancel_button.clicked.connect(self.cancel)
        self.cards_page.clear_button.clicked.connect(self.clear)
        self.cards_page.back_button.clicked.connect(lambda: self.pages.setCurrentIndex(BATCH))
        self.cards_caption, self.back_button = self.cards_page.caption, self.cards_page.back_button
        self.pages.addWidget(self.cards_page)
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

    # ----------------------------------------------------------------- project and runs
    def _on_project_changed(self) -> None:
        self._save_timer.stop()
        self._unsaved.clear()  # the closed project's store is gone; nothing to write there
        self.cancel()
        self.batch.cancel()
        self._runs.clear()
        self.last_paths = []
        self.cards_page.clear()
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
        self.cards_page.run = self.run
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
        self.cards_page.set_threshold(self.threshold())
        self.batch.set_threshold(self.threshold())

    def _on_heatmap_toggled(self, on: bool) -> None:
        self._save_setting(HEATMAP_KEY, bool(on))
        self.opacity_slider.setEnabled(on)
        self.cards_page.set_heatmap_visible(on)

    def _on_opacity_changed(self, value: int) -> None:
        self._save_setting(OPACITY_KEY, value / 100)
        self.cards_page.set_opacity(value / 100)

    @property
    def cards(self) -> list:
        return self.cards_page.cards

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
        self.cards_page.clear()
        self.last_paths = list(paths)
        self.pages.setCurrentIndex(CARDS)
        self.cards_caption.setText(f"Predicting {len(paths)} image{'s' if len(paths) != 1 else ''}…")
        self.cards_page.progress.setRange(0, 0)
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
                or self.batch.is_running() or self.cards_page.is_making_heatmaps())

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
        self.cards_page.clear()
        self.last_paths = []
        self.pages.setCurrentIndex(EMPTY)

    def _set_cards_running(self, running: bool) -> None:
        self.cards_page.set_running(running, has_table=self.batch.model.rowCount() > 0)

    def _on_cards_progress(self, token: int, done: int, total, message: str) -> None:
        if token != self._card_token:
            return
        if total:
            self.cards_page.progress.setRange(0, int(total))
            self.cards_page.progress.setValue(done)
        if message:
            self.cards_caption.setText(message)

    def _on_cards_finished(self, token: int, rows: list[dict]) -> None:
        if token != self._card_token:
            return  # a cancelled or replaced job's late answer
        self.card_job = None
        self._set_cards_running(False)
        self.cards_page.show_rows(rows, self.threshold(), self.opacity_slider.value() / 100,
                                  self.heatmap_check.isChecked())

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
