"""The Evaluate view: where the model is wrong, image by image, and the data gets fixed.

For the selected run: accuracy and a per-class table, the confusion matrix (click a cell, a
row or a column label to see those images), a gallery of the images behind it with one-key
relabel/exclude, "Misclassified" and "Low confidence" filters, and the likely mislabeled
images. Every number comes from mbv2gui.core.inference.evaluation over the run's saved predictions; an
edit made after the run marks them stale and offers a retrain.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (QCheckBox, QComboBox, QHBoxLayout, QHeaderView, QLabel, QSlider,
                               QSplitter, QTableView, QTabWidget, QVBoxLayout, QWidget)

from mbv2gui.core.inference import evaluation as ev
from mbv2gui.core.errors import UserError
from mbv2gui.gui.evaluate.confusion_matrix_widget import ConfusionMatrixWidget
from mbv2gui.gui.evaluate.mislabeled_panel import MislabeledPanel
from mbv2gui.gui.common.notice_bar import NoticeBar
from mbv2gui.gui.common.run_combo import RUN_PICKER_CAPTION, fill_run_combo, select_current_run
from mbv2gui.gui.evaluate.review_gallery import (GalleryEditor, ReviewGallery, ReviewItem,
                                        make_thumbnail_source)

FILTERS = ("Selected cell", "Misclassified", "Low confidence")
SPLIT_TITLES = {"validation": "Validation images", "test": "Test images"}


def _table_item(text: str, sort_value) -> QStandardItem:
    item = QStandardItem(text)
    item.setData(sort_value, Qt.ItemDataRole.UserRole)
    item.setEditable(False)
    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class EvaluateView(QWidget):
    retrainRequested = Signal()  # the person pressed Retrain (the window shows the Train view)

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.context = context
        self.run = None
        self.evaluation: ev.Evaluation | None = None
        self.stale = False
        self._ids_by_hash: dict[str, int] = {}
        self._selection: tuple[int | None, int | None] | None = None
        thumbnails = make_thumbnail_source(context, self)
        self._build(thumbnails)
        context.projectChanged.connect(lambda _project: self.reload_runs())
        context.runsChanged.connect(self.reload_runs)
        context.currentRunChanged.connect(lambda _run_id: self._show_run())
        context.imagesChanged.connect(self._on_images_changed)
        context.imagesChanged.connect(lambda _ids: self.isVisible() and self.check_leaks())
        context.classesChanged.connect(lambda: self._on_images_changed([]))
        self.reload_runs()

    # ----------------------------------------------------------------- layout
    def _build(self, thumbnails) -> None:
        self.run_combo = QComboBox()
        self.run_combo.setMinimumContentsLength(24)
        self.run_combo.activated.connect(lambda i: self.context.set_current_run(self.run_combo.itemData(i)))
        self.split_combo = QComboBox()
        self.split_combo.currentIndexChanged.connect(lambda _i: self._evaluate())
        self.percent_check = QCheckBox("Show %")
        self.percent_check.setToolTip("Show each cell as a share of its row (its true class).")
        self.summary = QLabel()
        self.summary.setObjectName("evaluateSummary")
        bar = QHBoxLayout()
        for widget in (QLabel(f"{RUN_PICKER_CAPTION}:"), self.run_combo, QLabel("Images:"), self.split_combo,
                       self.percent_check):
            bar.addWidget(widget)
        bar.addWidget(self.summary, 1)

        self.stale_banner = NoticeBar()
        self.leak_banner = NoticeBar()  # near-duplicates pinned to both sides of the split
        self.matrix = ConfusionMatrixWidget()
        self.percent_check.toggled.connect(self.matrix.set_show_percent)
        self.matrix.cellClicked.connect(lambda i, j: self.show_cell(i, j))
        self.matrix.rowClicked.connect(lambda i: self.show_cell(i, None))
        self.matrix.columnClicked.connect(lambda j: self.show_cell(None, j))
        self.table_model = QStandardItemModel(0, 5, self)
        self.table_model.setHorizontalHeaderLabels(["Class", "Precision", "Recall", "F1", "Images"])
        self.table_model.setSortRole(Qt.ItemDataRole.UserRole)
        self.table = QTableView()
        self.table.setModel(self.table_model)
        self.table.setSortingEnabled(True)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        self.table.clicked.connect(lambda index: self.show_cell(
            self.table_model.item(index.row(), 0).data(Qt.ItemDataRole.UserRole), None))
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.matrix)
        left.addWidget(self.table)
        left.setStretchFactor(0, 3)
        left.setStretchFactor(1, 1)

        self.filter_combo = QComboBox()
        self.filter_combo.addItems(FILTERS)
        self.filter_combo.currentIndexChanged.connect(lambda _i: self._refresh_gallery())
        self.threshold = QSlider(Qt.Orientation.Horizontal)
        self.threshold.setRange(5, 100)
        self.threshold.setValue(60)
        self.threshold.setMaximumWidth(160)
        self.threshold.valueChanged.connect(lambda _v: self._refresh_gallery())
        self.threshold_label = QLabel()
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.gallery = ReviewGallery(thumbnails)
        self.editor = GalleryEditor(self.context, self.gallery)
        self.editor.notice.connect(lambda text: self.caption.setText(text))
        filters = QHBoxLayout()
        for widget in (QLabel("Show:"), self.filter_combo, self.threshold_label, self.threshold):
            filters.addWidget(widget)
        filters.addStretch(1)
        images_tab = QWidget()
        images_layout = QVBoxLayout(images_tab)
        images_layout.addLayout(filters)
        images_layout.addWidget(self.caption)
        images_layout.addWidget(self.gallery, 1)
        self.mislabeled = MislabeledPanel(self.context, thumbnails)
        self.tabs = QTabWidget()
        self.tabs.addTab(images_tab, "Images")
        self.tabs.addTab(self.mislabeled, "Likely mislabeled")

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.stale_banner)
        layout.addWidget(self.leak_banner)
        layout.addWidget(splitter, 1)

    # ----------------------------------------------------------------- runs
    def reload_runs(self) -> None:
        fill_run_combo(self.run_combo, self.context)
        self._show_run()

    def _show_run(self) -> None:
        from mbv2gui.core.runs import Run

        # An unknown id (a deleted run, or none chosen yet) shows the best run.
        record = select_current_run(self.run_combo, self.context)
        self.run, self.stale = None, False
        self.stale_banner.hide()
        if record is not None:
            try:
                self.run = Run.load(record.run_dir)
            except UserError as exc:
                self.summary.setText(exc.message)
        self._index_project_images()
        self.mislabeled.set_run(str(self.run.run_dir) if self.run else None)
        self.split_combo.blockSignals(True)
        self.split_combo.clear()
        for split in ev.available_splits(self.run.predictions or []) if self.run else []:
            self.split_combo.addItem(SPLIT_TITLES[split], split)
        self.split_combo.blockSignals(False)
        self._evaluate()
        self._check_labels_since_run()

    def _index_project_images(self) -> None:
        project = self.context.project
        self._ids_by_hash = ({r.content_hash: r.id for r in project.images() if r.content_hash}
                             if project is not None else {})

    # ----------------------------------------------------------------- numbers
    def _evaluate(self) -> None:
        split = self.split_combo.currentData()
        if self.run is None or split is None:
            self.evaluation = None
            self.matrix.set_matrix([], [])
            self.table_model.setRowCount(0)
            if self.run is None:
                self.summary.setText("No run yet: train a model in the Train view, then come back."
                                     if not self.run_combo.count() else self.summary.text())
            else:
                self.summary.setText("This run has no validation or test images to evaluate on.")
            self.gallery.set_items([])
            return
        self.evaluation = ev.evaluate_run(self.run, split)
        self.matrix.set_matrix(self.evaluation.class_names, self.evaluation.confusion)
        accuracy = self.evaluation.accuracy
        self.summary.setText(f"Accuracy {accuracy:.1%} on {self.evaluation.total} "
                             f"{split} images" if accuracy is not None else "")
        self.table_model.setRowCount(0)
        for index, m in enumerate(self.evaluation.per_class):
            name = QStandardItem(m.name)
            name.setData(index, Qt.ItemDataRole.UserRole)
            name.setEditable(False)
            self.table_model.appendRow([name, _table_item(f"{m.precision:.0%}", m.precision),
                                        _table_item(f"{m.recall:.0%}", m.recall),
                                        _table_item(f"{m.f1:.2f}", m.f1),
                                        _table_item(str(m.support), m.support)])
        # Show every class row without scrolling when there are few (up to ~8; then it scrolls).
        wanted = (self.table.horizontalHeader().sizeHint().height() + 2 * self.table.frameWidth() + 2
                  + self.table.verticalHeader().defaultSectionSize() * len(self.evaluation.per_class))
        self.table.setMinimumHeight(min(wanted, 270))
        misses = ev.misclassified(self.evaluation)
        if misses:  # start where the person would: the most confident mistake's cell
            self.show_cell(misses[0].true, misses[0].predicted)
        else:
            self._selection = None
            self._refresh_gallery()

    # ----------------------------------------------------------------- gallery
    def show_cell(self, true_idx: int | None, pred_idx: int | None) -> None:
        """Fills the gallery with one cell (or a whole row or column when one index is None)."""
        self._selection = (true_idx, pred_idx)
        if self.filter_combo.currentIndex() != 0:
            self.filter_combo.setCurrentIndex(0)  # refreshes the gallery itself
        else:
            self._refresh_gallery()

    def show_filter(self, name: str, threshold: float | None = None) -> None:
        """"Misclassified" or "Low confidence" (threshold 0..1) for the whole split."""
        if threshold is not None:
            self.threshold.setValue(round(threshold * 100))
        self.filter_combo.setCurrentIndex(FILTERS.index(name))

    def _refresh_gallery(self) -> None:
        mode = self.filter_combo.currentText()
        if mode == FILTERS[0] and self._selection is not None:
            self.matrix.set_selection(*self._selection)
        else:  # a whole-split filter: no cell is "the" selection
            self.matrix.clear_selection()
        low = mode == "Low confidence"
        self.threshold.setVisible(low)
        self.threshold_label.setVisible(low)
        self.threshold_label.setText(f"below {self.threshold.value()}%")
        evaluation = self.evaluation
        if evaluation is None:
            self.gallery.set_items([])
            self.caption.setText("")
            return
        names = evaluation.class_names
        if mode == "Misclassified":
            members = ev.misclassified(evaluation)
            caption = f"{len(members)} misclassified images, the most confident mistakes first."
        elif low:
            members = ev.low_confidence(evaluation, self.threshold.value() / 100)
            caption = (f"{len(members)} images the model was less than {self.threshold.value()}% "
                       "sure about, least sure first.")
        elif self._selection is None:
            members, caption = [], "Click a cell of the confusion matrix to see its images."
        else:
            true_idx, pred_idx = self._selection
            members = ev.cell_members(evaluation, true_idx, pred_idx)
            what = " and ".join(part for part in (
                f"true “{names[true_idx]}”" if true_idx is not None else "",
                f"predicted “{names[pred_idx]}”" if pred_idx is not None else "") if part)
            caption = f"{len(members)} image{'' if len(members) == 1 else 's'}, {what}."
            if any(not p.correct for p in members):
                caption += " The most confident mistakes come first."
        self.gallery.set_items(self._items(members))
        self.caption.setText(caption + " Keys: 1–9 relabel, X exclude from training, Enter open.")

    def _items(self, members: list[ev.Prediction]) -> list[ReviewItem]:
        names = self.evaluation.class_names
        ids = [self._ids_by_hash.get(p.content_hash) for p in members]
        project = self.context.project
        now = {r.id: r for r in project.images([i for i in ids if i is not None])} if project else {}
        current_names = {c.id: c.name for c in project.classes()} if project else {}
        items = []
        for p, image_id in zip(members, ids):
            lines = [f"predicted: {names[p.predicted]}", f"true: {names[p.true]}",
                     f"{p.confidence:.0%} sure"]
            record = now.get(image_id)
            if record is not None and current_names.get(record.class_id) != names[p.true]:
                lines.append(f"now: {current_names.get(record.class_id, 'unlabeled')}")
            if record is not None and record.excluded:
                lines.append("excluded from training")
            items.append(ReviewItem(
                path=p.path, image_id=image_id, content_hash=p.content_hash, lines=tuple(lines),
                mark="right" if p.correct else "wrong", payload=p,
                tooltip=(f"True class “{names[p.true]}”, predicted “{names[p.predicted]}” "
                         f"with {p.confidence:.0%} confidence.\n{p.path}")))
        return items

    # ----------------------------------------------------------------- staleness
    def _check_labels_since_run(self) -> None:
        """A run reopened after its images were relabeled is stale from the start."""
        if self.run is None or self.context.project is None:
            return
        names = self.run.class_names
        project = self.context.project
        current = {c.id: c.name for c in project.classes()}
        rows = [r for r in (self.run.predictions or []) if r.get("content_hash") in self._ids_by_hash]
        records = {r.id: r for r in project.images([self._ids_by_hash[r["content_hash"]] for r in rows])}
        for row in rows:
            record = records.get(self._ids_by_hash[row["content_hash"]])
            if record is not None and (record.excluded or current.get(record.class_id) != names[int(row["true"])]):
                self._mark_stale()
                return

    def _on_images_changed(self, ids: list) -> None:
        if self.run is None:
            return
        if not ids:  # "many changed": images may have been removed or re-added
            self._index_project_images()
        self._mark_stale()
        # Keep the person's place: refresh the lines ("now: …") without losing the selection.
        row = self.gallery.currentIndex().row()
        self._refresh_gallery()
        if 0 <= row < self.gallery.model().rowCount():
            self.gallery.setCurrentIndex(self.gallery.model().index(row))

    def _mark_stale(self) -> None:
        if not self.stale:
            self.stale = True
            self.stale_banner.show_notice(
                "You changed the images or labels since this run was trained, so these numbers "
                "are out of date. Retrain to see the effect of your changes.",
                [("Retrain", self.request_retrain)], level="warning")

    def check_leaks(self) -> None:
        """Warns while near-duplicates sit on both sides of the split (core/store/
        near_duplicates.py): the validation accuracy is then flattered."""
        from mbv2gui.core.store.near_duplicates import leak_sentence, pinned_leaks

        project = self.context.project
        leaks = pinned_leaks(project) if project is not None else []
        if not leaks:
            self.leak_banner.hide()
            return
        ids = [i for leak in leaks for i in leak.image_ids]
        self.leak_banner.show_notice(leak_sentence(leaks), [("Show them", lambda: (
            self.context.showImagesRequested.emit(ids, "Near-duplicates on both sides of the "
                                                        "split")))], level="warning")

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.check_leaks()  # the groups or the pinned splits may have changed elsewhere

    def request_retrain(self) -> None:
        """Asks the window to retrain with the current labels (it shows the Train view)."""
        self.retrainRequested.emit()
        self.context.retrainRequested.emit()
