"""Every training run of the project, newest first: when, with which settings, how well.

Selecting a run makes it the current run (Evaluate and Predict follow) and emits
`runSelected(run_id, history)` so the Train view can draw its curves; ticking the "Compare"
box of another run emits `compareChanged(run_id, history)` to overlay it ("" and None: none).
Only a run's history is read here (core/runs.py load_history), never a model."""

from __future__ import annotations

import logging
import sqlite3

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from mbv2gui.core.runs import load_history
from mbv2gui.core.run_names import record_name, start_point, when
from mbv2gui.gui.common.run_combo import run_tooltip

log = logging.getLogger(__name__)

ID_ROLE = Qt.ItemDataRole.UserRole
COMPARE, DATE, SETTINGS, ACCURACY = range(4)


def settings_text(config: dict, metrics: dict | None = None) -> str:
    """"pretrained (ImageNet), 96 px, α 0.35, +5 fine-tune": where it started first, in words
    (what metrics.json says it used, not the choice: 'auto' may have meant either)."""
    config = config or {}
    fine = config.get("fine_tune_epochs") or 0
    parts = [start_point(config, metrics), f"{config.get('image_size', '?')} px",
             f"α {config.get('alpha', '?')}"]
    if fine:
        parts.append(f"+{fine} fine-tune")
    return ", ".join(parts)


def accuracy_text(metrics: dict) -> str:
    value = (metrics or {}).get("val_accuracy")
    return f"{value:.0%}" if isinstance(value, (int, float)) else "—"


class RunsPanel(QWidget):
    runSelected = Signal(str, object)  # run id, its history dict (or None if unreadable)
    compareChanged = Signal(str, object)  # run id or "", history or None

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.context = context
        self._records = {}
        self._filling = False
        self.tree = QTreeWidget()
        self.tree.setObjectName("runsList")
        self.tree.setColumnCount(4)
        self.tree.setHeaderLabels(["Compare", "Date", "Settings", "Val. accuracy"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(COMPARE, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(DATE, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(SETTINGS, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(ACCURACY, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.currentItemChanged.connect(self._on_current_item)
        self.tree.itemChanged.connect(self._on_item_changed)
        self.empty = QLabel("No runs yet. Press Start Training; each training appears here.")
        self.empty.setObjectName("runsEmpty")
        self.empty.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.empty)
        context.runsChanged.connect(self.refresh)
        context.projectChanged.connect(lambda _project: self.refresh())
        context.currentRunChanged.connect(self.select_run)
        self.refresh()

    # ----------------------------------------------------------------- contents
    def refresh(self) -> None:
        project = self.context.project
        try:
            records = list(reversed(project.runs())) if project is not None else []
        except sqlite3.Error as exc:  # a project closed under us
            log.warning("Could not list the runs: %s", exc)
            records = []
        compared = self.compared_run_id()
        self._records = {r.id: r for r in records}
        self._filling = True
        try:
            self.tree.clear()
            for record in records:
                item = QTreeWidgetItem(["", when(record.created, record.id) or record.created,
                                        settings_text(record.config, record.metrics),
                                        accuracy_text(record.metrics)])
                item.setData(DATE, ID_ROLE, record.id)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(COMPARE, Qt.CheckState.Checked if record.id == compared
                                   else Qt.CheckState.Unchecked)
                item.setToolTip(COMPARE, "Tick to draw this run's curves over the selected one's.")
                item.setTextAlignment(ACCURACY, Qt.AlignmentFlag.AlignRight
                                      | Qt.AlignmentFlag.AlignVCenter)
                metrics = record.metrics or {}
                tip = (f"{record_name(record)}\n{run_tooltip(record)}\n"
                       f"{metrics.get('epochs', '?')} epochs in {metrics.get('seconds', '?')} s\n"
                       f"{metrics.get('weights_source', '')}")
                for column in (DATE, SETTINGS, ACCURACY):
                    item.setToolTip(column, tip.strip())
                self.tree.addTopLevelItem(item)
        finally:
            self._filling = False
        self.empty.setVisible(not records)
        self.tree.setVisible(bool(records))
        if compared and compared not in self._records:
            self.compareChanged.emit("", None)
        wanted = self.context.current_run()
        self.select_run(wanted.id if wanted is not None else "", force=True)

    def record(self, run_id: str):
        """The project's record of a listed run (Project.runs()), or None."""
        return self._records.get(run_id)

    def run_ids(self) -> list[str]:
        return [self.tree.topLevelItem(i).data(DATE, ID_ROLE)
                for i in range(self.tree.topLevelItemCount())]

    def row_count(self) -> int:
        return self.tree.topLevelItemCount()

    def _item(self, run_id: str) -> QTreeWidgetItem | None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(DATE, ID_ROLE) == run_id:
                return item
        return None

    # ----------------------------------------------------------------- selection
    def selected_run_id(self) -> str:
        item = self.tree.currentItem()
        return item.data(DATE, ID_ROLE) if item is not None else ""

    def select_run(self, run_id: str, force: bool = False) -> None:
        """Selects `run_id` (from outside: the current run changed) and shows its curves."""
        item = self._item(run_id) if run_id else None
        if item is self.tree.currentItem() and not force:
            return
        self._filling = True
        try:
            self.tree.setCurrentItem(item)
            if item is not None:
                self.tree.scrollToItem(item)
        finally:
            self._filling = False
        self._announce(run_id if item is not None else "")

    def _on_current_item(self, current, _previous) -> None:
        if self._filling:
            return
        run_id = current.data(DATE, ID_ROLE) if current is not None else ""
        if run_id:
            self.context.set_current_run(run_id)
        self._announce(run_id)

    def _announce(self, run_id: str) -> None:
        record = self._records.get(run_id)
        self.runSelected.emit(run_id, load_history(record.run_dir) if record else None)

    # ----------------------------------------------------------------- compare
    def compared_run_id(self) -> str:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.checkState(COMPARE) == Qt.CheckState.Checked:
                return item.data(DATE, ID_ROLE)
        return ""

    def set_compared(self, run_id: str) -> None:
        """Ticks `run_id`'s Compare box (and only it), or none for ""."""
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            item.setCheckState(COMPARE, Qt.CheckState.Checked
                               if item.data(DATE, ID_ROLE) == run_id and run_id
                               else Qt.CheckState.Unchecked)

    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._filling or column != COMPARE:
            return
        run_id = item.data(DATE, ID_ROLE)
        if item.checkState(COMPARE) == Qt.CheckState.Checked:
            self._filling = True
            try:  # one comparison at a time
                for i in range(self.tree.topLevelItemCount()):
                    other = self.tree.topLevelItem(i)
                    if other is not item:
                        other.setCheckState(COMPARE, Qt.CheckState.Unchecked)
            finally:
                self._filling = False
            record = self._records.get(run_id)
            self.compareChanged.emit(run_id, load_history(record.run_dir) if record else None)
        elif not self.compared_run_id():
            self.compareChanged.emit("", None)
