"""The Predict view (Lobe's "Use"): drop new images and see what the model thinks they are.

A few images (up to CARD_LIMIT files) become cards: the picture with a Grad-CAM heat map over
it, the top classes with confidence bars, "Uncertain" below the threshold, and "Add to project
as <class>". A folder or a bigger drop goes to a sortable table that fills as the job runs,
with Cancel and "Export CSV…". Everything that reads files or runs the model is a job
(mbv2gui.core.prediction_jobs) in the one job runner; TensorFlow never loads on the GUI thread.

The run selector follows `context.currentRunChanged` and sets it. The uncertainty threshold,
the heat-map toggle and its opacity are remembered as project settings.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QPoint, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFrame, QHBoxLayout, QLabel,
                               QLayout, QProgressBar, QPushButton, QScrollArea, QSizePolicy,
                               QSlider, QStackedWidget, QVBoxLayout, QWidget)

from mbv2gui.core.errors import UserError
from mbv2gui.core.prediction_jobs import MAX_HEATMAPS, heatmap_for, predict_with_heatmaps
from mbv2gui.gui import qtfix  # noqa: F401  (a PySide6 bug guard; see its docstring)
from mbv2gui.gui.batch_results import BatchResults
from mbv2gui.gui.file_dialogs import choose_image_files
from mbv2gui.gui.notice_bar import NoticeBar
from mbv2gui.gui.predict_commands import add_predicted_image
from mbv2gui.gui.prediction_card import PredictionCard
from mbv2gui.gui.run_combo import fill_run_combo

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


class FlowLayout(QLayout):
    """Lays widgets out left to right, wrapping to the next line (Qt's flow layout example)."""

    def __init__(self, parent=None, spacing: int = 14):
        super().__init__(parent)
        self._items = []
        self._spacing = spacing

    def addItem(self, item) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int):
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int):
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self):
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._arrange(QRect(0, 0, width, 0), apply=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._arrange(rect, apply=True)

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    def _arrange(self, rect: QRect, apply: bool) -> int:
        """Places the items in lines; the block of lines is centered as a whole (the cards
        all have one width, so the columns line up)."""
        margins = self.contentsMargins()
        area = rect.adjusted(margins.left(), margins.top(), -margins.right(), -margins.bottom())
        lines, line, width = [], [], 0
        for item in self._items:
            hint = item.sizeHint()
            needed = hint.width() if not line else width + self._spacing + hint.width()
            if line and needed > area.width():
                lines.append((line, width))
                line, needed = [], hint.width()
            line.append(item)
            width = needed
        if line:
            lines.append((line, width))
        widest = max((w for _items, w in lines), default=0)
        left = area.x() + max(0, (area.width() - widest) // 2)
        y = area.y()
        for items, _width in lines:
            x, line_height = left, 0
            for item in items:
                hint = item.sizeHint()
                if apply:
                    item.setGeometry(QRect(QPoint(x, y), hint))
                x += hint.width() + self._spacing
                line_height = max(line_height, hint.height())
            y += line_height + self._spacing
        return (y - self._spacing if lines else y) - rect.y() + margins.bottom()


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
        context.currentRunChanged.connect(self._on_current_run_changed)
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
        self.threshold_slider = QSlider(Qt.Orientation.Horizontal)
        self.threshold_slider.setRange(1, 99)
        self.threshold_slider.setValue(60)
        self.threshold_slider.setMinimumWidth(60)
        self.threshold_slider.setMaximumWidth(110)
        self.threshold_slider.setToolTip("A prediction less sure than this is marked "
                                         "“Uncertain”.")
        self.threshold_slider.valueChanged.connect(self._on_threshold_changed)
        self.threshold_value = QLabel("60%")
        self.threshold_value.setMinimumWidth(34)
        self.heatmap_check = QCheckBox("Heat map")
        self.heatmap_check.setChecked(True)
        self.heatmap_check.setToolTip("Color where in the image the model looked: red most, "
                                      "blue least (Grad-CAM).")
        self.heatmap_check.toggled.connect(self._on_heatmap_toggled)
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(50)
        self.opacity_slider.setMinimumWidth(60)
        self.opacity_slider.setMaximumWidth(110)
        self.opacity_slider.setToolTip("Heat map opacity: how strongly it covers the image.")
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

        for widget in (caption("Model"), self.run_combo):
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
        self.pages.addWidget(self._build_empty_page())
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

    def _build_empty_page(self) -> QWidget:
        page = QWidget()
        page.setObjectName("emptyPage")
        zone = QFrame()
        zone.setObjectName("dropZone")
        zone.setMaximumSize(620, 320)
        zone.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.empty_title = QLabel()
        self.empty_title.setObjectName("emptyTitle")
        self.empty_text = QLabel()
        self.empty_text.setObjectName("emptyText")
        self.empty_text.setWordWrap(True)
        inner = QVBoxLayout(zone)
        inner.setContentsMargins(36, 30, 36, 30)
        self.empty_images_button = QPushButton("Choose Images…")
        self.empty_images_button.clicked.connect(self.choose_images)
        self.empty_folder_button = QPushButton("Choose a Folder…")
        self.empty_folder_button.clicked.connect(self.choose_folder)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.empty_images_button)
        buttons.addWidget(self.empty_folder_button)
        buttons.addStretch(1)
        inner.addStretch(1)
        for label in (self.empty_title, self.empty_text):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            inner.addWidget(label)
            inner.addSpacing(8)
        inner.addSpacing(10)
        inner.addLayout(buttons)
        inner.addStretch(1)
        outer = QVBoxLayout(page)
        outer.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(zone, 4)
        row.addStretch(1)
        outer.addLayout(row, 3)
        outer.addStretch(2)
        return page

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
        project = self.context.project
        records = list(reversed(project.runs())) if project is not None else []
        fill_run_combo(self.run_combo, project.runs() if project is not None else [])
        self._show_run(self.context.current_run_id, records)

    def _on_current_run_changed(self, run_id: str) -> None:
        records = self.context.project.runs() if self.context.project is not None else []
        self._show_run(run_id, records)

    def _show_run(self, run_id: str, records) -> None:
        from mbv2gui.core.runs import Run

        # An unknown id (a deleted run, or none chosen yet) means the newest run.
        record = next((r for r in records if r.id == run_id),
                      max(records, key=lambda r: (r.created, r.id), default=None))
        previous = self.run
        self.run = None
        if record is not None:
            self.run_combo.setCurrentIndex(self.run_combo.findData(record.id))
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
        self.empty_title.setText("Drop images here" if ready else "No trained model yet")
        self.empty_text.setText(
            "Drop a few images to see what the model thinks they are, how sure it is, and "
            "where it looked. Drop a folder to predict all of its images at once."
            if ready else "Train a model in the Train view first; then drop new images here "
                          "to try it.")
        for widget in (self.images_button, self.folder_button, self.empty_images_button,
                       self.empty_folder_button):
            widget.setEnabled(ready)
        self.empty_images_button.setVisible(ready)
        self.empty_folder_button.setVisible(ready)

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
        job = self.context.jobs.start(predict_with_heatmaps, self.run, paths, top_k=TOP_K,
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
        job = self.context.jobs.start(heatmap_for, self.run, card.path, class_index,
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
        self.notice.show_notice(f"Added {os.path.basename(card.path)} to the project as "
                                f"“{label.strip()}”.", [("Undo", self.context.undo_stack.undo)])

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
