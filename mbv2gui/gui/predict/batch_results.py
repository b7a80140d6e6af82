"""Batch prediction of a folder (or a big drop): a job with progress and Cancel, the answers in
a sortable table that fills as they come (file, prediction, confidence, problem), unreadable
files listed with the reason, and "Export CSV…" in the same layout as `mbv2gui predict --csv`.

The table never holds a widget per file: 10,000 rows are 10,000 small dicts in one
QAbstractTableModel, appended a chunk at a time as the job streams them.
"""

from __future__ import annotations

import os

from PySide6.QtCore import (QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QHeaderView, QLabel, QMessageBox,
                               QProgressBar, QPushButton, QTableView, QVBoxLayout, QWidget)

from mbv2gui.core.errors import UserError
from mbv2gui.core.words import plural
from mbv2gui.gui.common import colors
from mbv2gui.core.inference.predict import save_csv
from mbv2gui.core.inference.prediction_jobs import predict_batch

COLUMNS = ("File", "Prediction", "Confidence", "Problem")
FILE, PREDICTION, CONFIDENCE, PROBLEM = range(len(COLUMNS))
SORT_ROLE = Qt.ItemDataRole.UserRole


def short_reason(path: str, error: str) -> str:
    """The error sentence without the file name the row already shows."""
    for name in (path, os.path.basename(path)):
        prefix = f"{name} cannot be used: "
        if error.startswith(prefix):
            reason = error[len(prefix):]
            return reason[:1].upper() + reason[1:]
    return error


class BatchTableModel(QAbstractTableModel):
    """Rows as `predict_files` makes them, in the order they were predicted."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list[dict] = []
        self.threshold = 0.6

    def rows(self) -> list[dict]:
        return list(self._rows)

    def row(self, index: int) -> dict:
        return self._rows[index]

    def clear(self) -> None:
        self.beginResetModel()
        self._rows = []
        self.endResetModel()

    def append_rows(self, rows: list[dict]) -> None:
        if not rows:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self._rows.extend(rows)
        self.endInsertRows()

    def set_threshold(self, threshold: float) -> None:
        self.threshold = float(threshold)
        if self._rows:
            self.dataChanged.emit(self.index(0, CONFIDENCE), self.index(len(self._rows) - 1, CONFIDENCE))

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, column = self._rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == FILE:
                return os.path.basename(row["path"])
            if column == PREDICTION:
                return row["label"] or ""
            if column == CONFIDENCE:
                return "" if row["confidence"] is None else f"{row['confidence']:.1%}"
            if row["error"]:
                return short_reason(row["path"], row["error"])
            return "uncertain" if self._uncertain(row) else ""
        if role == SORT_ROLE:
            if column == FILE:
                return row["path"]
            if column == PREDICTION:
                return row["label"] or ""
            if column == CONFIDENCE:
                return -1.0 if row["confidence"] is None else row["confidence"]
            return row["error"] or ("uncertain" if self._uncertain(row) else "")
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == FILE:
                return row["path"]
            if row["error"]:
                return row["error"]
            return "\n".join(f"{name}: {p:.1%}" for name, p in row["top_k"])
        if role == Qt.ItemDataRole.ForegroundRole:
            if row["error"]:
                return QColor(colors.ERROR)
            if column in (CONFIDENCE, PROBLEM) and self._uncertain(row):
                return QColor(colors.WARNING)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == CONFIDENCE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _uncertain(self, row: dict) -> bool:
        return row["confidence"] is not None and row["confidence"] < self.threshold


class BatchResults(QWidget):
    """Runs `predict_batch` and shows its rows. `batchEnded(str)` says how it ended:
    "finished", "cancelled" or "failed"."""

    batchEnded = Signal(str)
    openRequested = Signal(str)  # a row was double-clicked: show that image as a card

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.context = context
        self.job = None
        self.top_k = 3
        self.total: int | None = None
        self.state = ""  # "", "running", "finished", "cancelled", "failed"
        self.source = ""
        self._build()

    def _build(self) -> None:
        self.title = QLabel()
        self.title.setObjectName("batchTitle")
        self.title.setStyleSheet("font-size: 12pt; font-weight: 600;")
        self.summary = QLabel()
        self.summary.setStyleSheet("color: #5b6675;")
        self.summary.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(8)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop predicting; the answers so far stay in the table.")
        self.cancel_button.clicked.connect(self.cancel)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip("Save every row as a CSV file (the same columns as "
                                      "`mbv2gui predict --csv`).")
        self.export_button.clicked.connect(lambda: self.export_csv())
        self.export_button.setEnabled(False)

        self.model = BatchTableModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # the predicted order at first
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(26)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setStyleSheet("QTableView { alternate-background-color: #f7f9fc; }"
                                 "QTableView::item { padding: 0 6px; }")
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(FILE, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(FILE, 280)
        header.resizeSection(PREDICTION, 160)
        header.resizeSection(CONFIDENCE, 100)
        header.setStretchLastSection(True)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.table.doubleClicked.connect(self._on_double_click)

        top = QHBoxLayout()
        text = QVBoxLayout()
        text.setSpacing(2)
        text.addWidget(self.title)
        text.addWidget(self.summary)
        top.addLayout(text, 1)
        top.addWidget(self.cancel_button)
        top.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.progress)
        layout.addWidget(self.table, 1)
        self._set_running(False)

    # ----------------------------------------------------------------- running
    def start(self, run, items: list[str], top_k: int = 3) -> None:
        """Predicts every image in `items` (files and folders) with `run`."""
        self.cancel()
        self.model.clear()
        self.top_k = top_k
        self.total = None
        self.source = (items[0] if len(items) == 1 else
                       f"{len(items)} files and folders")
        self.title.setText(f"Predictions for {os.path.basename(os.path.normpath(self.source)) or self.source}")
        self.title.setToolTip(self.source if len(items) == 1 else "\n".join(items[:50]))
        self.summary.setText("Looking for images…")
        self.progress.setRange(0, 0)
        self._set_running(True)
        job = self.context.jobs.start_in_engine(predict_batch, run, list(items), top_k=top_k,
                                                name="predicting images")
        job.ask_before_quit = False  # nothing is lost by stopping a prediction
        job.event.connect(self._on_event)
        job.progress.connect(self._on_progress)
        job.finished.connect(self._on_finished)
        job.failed.connect(self._on_failed)
        job.cancelled.connect(self._on_cancelled)
        self.job = job

    def is_running(self) -> bool:
        return self.job is not None and self.job.is_running()

    def cancel(self) -> None:
        if self.is_running():
            self.job.cancel()
            self.summary.setText("Stopping…")
            self.cancel_button.setEnabled(False)

    def set_threshold(self, threshold: float) -> None:
        self.model.set_threshold(threshold)
        if self.state and self.state != "running":
            self._summarize()

    def rows(self) -> list[dict]:
        return self.model.rows()

    def _set_running(self, running: bool) -> None:
        self.state = "running" if running else self.state
        self.progress.setVisible(running)
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(running)
        self.export_button.setEnabled(not running and self.model.rowCount() > 0)

    def _on_event(self, event: dict) -> None:
        if event["type"] == "rows":
            self.model.append_rows(event["rows"])
        elif event["type"] == "total":
            self.total = int(event["total"])
            self.progress.setRange(0, self.total)

    def _on_progress(self, done: int, total, message: str) -> None:
        if total:
            self.progress.setRange(0, int(total))
            self.progress.setValue(done)
            self.summary.setText(f"{message}… {done:,} of {total:,} images")
        else:
            self.summary.setText(message)

    def _on_finished(self, _result) -> None:
        self._end("finished")

    def _on_cancelled(self) -> None:
        self._end("cancelled")

    def _on_failed(self, message: str, detail: str) -> None:
        self._end("failed")
        self.summary.setText(message)
        self.summary.setToolTip(detail)

    def _end(self, state: str) -> None:
        self.job = None
        self.state = state
        self._set_running(False)
        if state != "failed":
            self._summarize()
        self.batchEnded.emit(state)

    def _summarize(self) -> None:
        rows = self.model.rows()
        errors = sum(1 for r in rows if r["error"])
        uncertain = sum(1 for r in rows if self.model._uncertain(r))
        parts = [f"{plural(len(rows) - errors, 'image')} predicted"]
        if uncertain:
            parts.append(f"{uncertain:,} uncertain")
        if errors:
            parts.append(f"{plural(errors, 'file')} could not be read")
        text = " · ".join(parts)
        if self.state == "cancelled":
            total = f" of {self.total:,}" if self.total else ""
            text = f"Cancelled after {len(rows):,}{total} files. " + text
        self.summary.setText(text + ". Click a column title to sort; double-click a row to "
                             "see that image.")

    def _on_double_click(self, index) -> None:
        source = self.proxy.mapToSource(index)
        row = self.model.row(source.row())
        if not row["error"]:
            self.openRequested.emit(row["path"])

    # ----------------------------------------------------------------- export
    def export_csv(self, path: str | None = None) -> str | None:
        """Writes the rows (in the order they were predicted) to `path`, or to a file the
        person picks. Returns the path written, or None."""
        if path is None:
            start = os.path.join(os.path.dirname(os.path.normpath(self.source)) if self.source else "",
                                 "predictions.csv")
            path, _ = QFileDialog.getSaveFileName(self, "Export Predictions", start,
                                                  "CSV files (*.csv)")
            if not path:
                return None
        try:
            save_csv(self.model.rows(), path, self.top_k)
        except UserError as exc:
            QMessageBox.warning(self, "Export Predictions", exc.message)
            return None
        self.summary.setText(f"Saved {plural(self.model.rowCount(), 'row')} to {path}.")
        return path
