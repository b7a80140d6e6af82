"""The "which run" combo box the Evaluate and Predict views share: newest run first, each
named in words ("Run of 6 Dec 01:06 — pretrained (ImageNet), 51%"), how sure its accuracy is
in its tooltip. Which run is chosen by default is the context's current_run()."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox

from mbv2gui.core.inference.quality import accuracy_uncertainty
from mbv2gui.core.run_names import record_name


# What the picker is called beside it, in both views: the word a person uses for what training
# made ("run" is our word for the folder that holds it).
RUN_PICKER_CAPTION = "Model"


def run_tooltip(record) -> str:
    """The run's accuracy with its uncertainty, and when it was trained."""
    metrics = record.metrics or {}
    accuracy = metrics.get("val_accuracy")
    validation = sum(((metrics.get("counts") or {}).get("validation") or {}).values())
    figure = (f"Right on {accuracy_uncertainty(accuracy, validation)}, which it never trained "
              "on." if isinstance(accuracy, (int, float)) and validation else
              "No validation images: how well it does on new images is unknown.")
    return f"{figure}\nTrained {record.created}."


def fill_run_combo(combo: QComboBox, context) -> None:
    """Puts the project's runs in `combo`, newest first, each with its run id as item data.
    Emits no signals: callers then choose the current item (select_current_run)."""
    records = context.project.runs() if context.project is not None else []
    combo.blockSignals(True)
    combo.clear()
    for record in reversed(records):
        combo.addItem(record_name(record), record.id)
        combo.setItemData(combo.count() - 1, run_tooltip(record), Qt.ItemDataRole.ToolTipRole)
    combo.blockSignals(False)


def select_current_run(combo: QComboBox, context):
    """Shows the context's current run in `combo` and returns its record (None: no run)."""
    record = context.current_run()
    if record is not None:
        combo.setCurrentIndex(combo.findData(record.id))
    return record
