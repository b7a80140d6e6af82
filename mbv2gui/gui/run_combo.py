"""The "which run" combo box the Evaluate and Predict views share: newest run first, a short
date and the validation accuracy as its text, the full date and the run id in its tooltip."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox


def short_date(created: str) -> str:
    """"2026-11-23 09:34:04" -> "Nov 23, 09:34" (the full date is in the tooltip)."""
    try:
        return time.strftime("%b %d, %H:%M", time.strptime(created, "%Y-%m-%d %H:%M:%S"))
    except ValueError:
        return created


def fill_run_combo(combo: QComboBox, records) -> None:
    """Puts `records` (the project's runs, oldest first) in `combo`, newest first, each with
    its run id as item data. Emits no signals: callers then choose the current item."""
    combo.blockSignals(True)
    combo.clear()
    for record in reversed(records):
        accuracy = (record.metrics or {}).get("val_accuracy")
        extra = f" — {accuracy:.0%} correct" if isinstance(accuracy, (int, float)) else ""
        combo.addItem(f"{short_date(record.created)}{extra}", record.id)
        combo.setItemData(combo.count() - 1, f"Trained {record.created}{extra} (run {record.id})",
                          Qt.ItemDataRole.ToolTipRole)
    combo.blockSignals(False)
