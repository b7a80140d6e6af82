"""The Label view's "label less" strip: the order the gallery shows images in ("As added" or
"Label next": what the model is least sure of, and diverse, first; `U` follows it), and the
buttons that open the near-duplicate review and the map of the data.

The ranking runs in the engine (core/inference/label_next.rank_unlabeled) with the run the
other views show, and again after every new run, so the queue follows the retraining.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QWidget

AS_ADDED, LABEL_NEXT = "As added", "Label next"


def current_run_dir(context) -> str | None:
    """The folder of the run every view shows (context.current_run()), None without a run."""
    record = context.current_run()
    return str(record.run_dir) if record is not None else None


class LabelTools(QWidget):
    orderChanged = Signal(object)   # image ids in the order to show, or None: as added
    lassoed = Signal(list, str)     # ids chosen on the map, a caption

    def __init__(self, context, loader, parent=None):
        super().__init__(parent)
        self.context = context
        self.loader = loader
        self._job = None
        self._rerank = False
        self.order_combo = QComboBox()
        self.order_combo.addItems([AS_ADDED, LABEL_NEXT])
        self.order_combo.setToolTip(
            "Label next: the images the model is least sure about come first, mixed so that "
            "similar ones do not all come at once. U follows this order.")
        self.order_combo.currentTextChanged.connect(lambda _text: self.refresh_order())
        self.status = QLabel()
        self.duplicates_button = QPushButton("Near-duplicates…")
        self.duplicates_button.setToolTip("Find copies of the same picture (resized, re-saved, "
                                          "burst shots) and keep them on one side of the split.")
        self.duplicates_button.clicked.connect(self.open_duplicates)
        self.map_button = QPushButton("Map…")
        self.map_button.setToolTip("A map of all images: similar images lie close together. "
                                   "Draw round a cluster to label it in one step.")
        self.map_button.clicked.connect(self.open_map)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (QLabel("Order:"), self.order_combo, self.status, self.duplicates_button,
                       self.map_button):
            layout.addWidget(widget)
        self.map_window = None
        self.duplicates_window = None
        context.runsChanged.connect(self._on_runs_changed)
        context.projectChanged.connect(self._on_project)

    # ----------------------------------------------------------------- label next
    def label_next_chosen(self) -> bool:
        return self.order_combo.currentText() == LABEL_NEXT

    def refresh_order(self) -> None:
        """Shows the images as added, or starts ranking them (the gallery reorders when the
        ranking arrives)."""
        if not self.label_next_chosen() or self.context.project is None:
            self._stop_job()
            self.status.setText("")
            self.orderChanged.emit(None)
            return
        run_dir = current_run_dir(self.context)
        if run_dir is None:
            self.status.setText("Train a model first: it says what it is unsure about.")
            self.orderChanged.emit(None)
            return
        if self._job is not None:  # ranking with an older run: rank again when it ends
            self._rerank = True
            self._job.cancel()
            return
        from mbv2gui.core.inference.label_next import rank_unlabeled

        self.status.setText("Ranking the unlabeled images…")
        self._job = self.context.jobs.start_in_engine(
            rank_unlabeled, str(self.context.project.path), run_dir, name="ranking images")
        self._job.ask_before_quit = False  # nothing is lost by stopping it
        self._job.finished.connect(self._on_ranked)
        self._job.failed.connect(lambda text, _detail: self.status.setText(text))
        self._job.ended.connect(self._on_job_ended)

    def _on_ranked(self, result: dict) -> None:
        count = len(result["order"])
        self.status.setText(f"{count:,} unlabeled image{'' if count == 1 else 's'}, the most "
                            "useful first" if count else "Every image has a label.")
        if self.label_next_chosen():
            self.orderChanged.emit(list(result["order"]))

    def _on_job_ended(self) -> None:
        self._job = None
        if self._rerank:
            self._rerank = False
            self.refresh_order()

    def _stop_job(self) -> None:
        self._rerank = False
        if self._job is not None:
            self._job.cancel()

    def _on_runs_changed(self) -> None:
        if self.label_next_chosen():
            self.refresh_order()  # a retraining: the model is unsure about other images now

    def _on_project(self, _project) -> None:
        self._stop_job()
        self.order_combo.setCurrentText(AS_ADDED)
        for window in (self.map_window, self.duplicates_window):
            if window is not None:
                window.close()

    # ----------------------------------------------------------------- pages
    def wanted_hashes(self) -> set[str]:
        """Thumbnails the open pages show (the loader drops requests nobody looks at)."""
        wanted: set[str] = set()
        for window in (self.map_window, self.duplicates_window):
            if window is not None and window.isVisible():
                wanted |= window.wanted_hashes()
        return wanted

    def open_map(self):
        from mbv2gui.gui.label.data_map import DataMapWindow

        if self.context.project is None:
            return None
        if self.map_window is None:
            self.map_window = DataMapWindow(self.context, self.loader, self.window())
            self.map_window.lassoed.connect(self.lassoed.emit)
        self.map_window.show()
        self.map_window.raise_()
        self.map_window.start()
        return self.map_window

    def open_duplicates(self):
        from mbv2gui.gui.label.duplicates_review import DuplicatesReview

        if self.context.project is None:
            return None
        if self.duplicates_window is None:
            self.duplicates_window = DuplicatesReview(self.context, self.loader, self.window())
        self.duplicates_window.show()
        self.duplicates_window.raise_()
        self.duplicates_window.start()
        return self.duplicates_window
