"""Export… on a run: pick a format (each with one line saying what it is for) and a folder;
Export runs the export job (write, reload with the format's own runtime, compare with the app)
with a progress bar and Cancel, then shows the agreement, the file size and "Open folder".

    open_export_dialog(context, run_id, parent) -> ExportDialog   (shown, not blocking)

With no run id it exports the project's default run (the current one, else the best).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QDialog, QFileDialog, QHBoxLayout,
                               QLabel, QLineEdit, QProgressBar, QPushButton, QRadioButton,
                               QVBoxLayout)

from mbv2gui.core.export.formats import FORMATS, TITLES as FORMAT_TITLES
from mbv2gui.gui.shell.settings import settings

TITLES = {"keras": "Keras", "savedmodel": "TensorFlow SavedModel", "tflite": "TensorFlow Lite",
          "tflite-fp16": "TensorFlow Lite, half size (float16)",
          "tflite-int8": "TensorFlow Lite, 8-bit integer (smallest, fastest)", "onnx": "ONNX"}
FOLDER_KEY = "export/lastParentFolder"
# Wide enough that each format's caption is one or two lines, so the dialog's default size
# leaves room for the verification sentence (three lines) without cutting it.
MIN_WIDTH = 620
STATUS_LINES = 4


def _record(context, run_id: str):
    """The project's record of a run, by id or folder; with no id, the default run."""
    if not run_id:
        return context.current_run()
    project = context.project
    records = project.runs() if project is not None else []
    return next((r for r in records if run_id in (r.id, str(r.run_dir))), None)


def run_folder(context, run_id: str) -> Path:
    """The folder of a project's run; a run id that is itself a run folder also works (runs
    trained from the command line are not in any project)."""
    record = _record(context, run_id)
    return Path(record.run_dir) if record is not None else Path(run_id)


def run_title(context, run_id: str) -> str:
    """The run in words ("Run of 6 Dec 01:06 — pretrained (ImageNet), 51%")."""
    from mbv2gui.core.run_names import folder_name, record_name

    record = _record(context, run_id)
    return record_name(record) if record is not None else folder_name(run_folder(context, run_id))


class ExportDialog(QDialog):
    def __init__(self, context, run_id: str = "", parent=None):
        super().__init__(parent)
        self.context = context
        self.run_id = str(run_id or "")
        self.run_dir = run_folder(context, self.run_id)
        self.job = None
        self.result = None  # the ExportResult of the last finished export
        title = run_title(context, self.run_id)
        self.setWindowTitle(f"Export the model — {title}")
        self.setMinimumWidth(MIN_WIDTH)
        layout = QVBoxLayout(self)
        # The run in words inside the dialog too: a window title is often cut.
        self.heading = QLabel(f"<b>Export the model of the run:</b><br>{title}")
        self.heading.setWordWrap(True)
        layout.addWidget(self.heading)
        layout.addWidget(QLabel("Format:"))
        self.formats = QButtonGroup(self)
        self.buttons = {}
        for fmt, text in FORMATS.items():
            button = QRadioButton(TITLES.get(fmt, FORMAT_TITLES[fmt]))
            button.setProperty("format", fmt)
            self.formats.addButton(button)
            self.buttons[fmt] = button
            explanation = QLabel(text)
            explanation.setWordWrap(True)
            explanation.setIndent(24)
            explanation.setEnabled(False)  # greyed: a caption, not a control
            pair = QVBoxLayout()  # the caption right under its button, pairs apart
            pair.setSpacing(0)
            pair.addWidget(button)
            pair.addWidget(explanation)
            layout.addLayout(pair)
        self.int8_input = QComboBox()
        self.int8_input.addItem("uint8 input (pixels 0..255 as they are)", "uint8")
        self.int8_input.addItem("int8 input (for accelerators that want signed values)", "int8")
        layout.addWidget(self.int8_input)
        self.formats.buttonToggled.connect(self._on_format_toggled)
        self.buttons["tflite"].setChecked(True)

        row = QHBoxLayout()
        row.addWidget(QLabel("Save in:"))
        self.folder_edit = QLineEdit(str(self._default_folder()))
        row.addWidget(self.folder_edit, 1)
        self.browse_button = QPushButton("Choose…")
        self.browse_button.clicked.connect(self._choose_folder)
        row.addWidget(self.browse_button)
        layout.addLayout(row)

        self.progress = QProgressBar()
        self.progress.setVisible(False)
        layout.addWidget(self.progress)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        # Room reserved for the longest message (the verification, a failure): a word-wrapped
        # label in a dialog of fixed height would otherwise be cut or overlap the buttons.
        self.status.setMinimumHeight(STATUS_LINES * self.status.fontMetrics().lineSpacing())
        layout.addWidget(self.status)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.open_button = QPushButton("Open folder")
        self.open_button.setVisible(False)
        self.open_button.clicked.connect(self._open_folder)
        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start_export)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self._cancel)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.reject)
        for button in (self.open_button, self.export_button, self.cancel_button,
                       self.close_button):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.resize(MIN_WIDTH, self.sizeHint().height())

    def _default_folder(self) -> Path:
        # Beside the run would hide it in the project's sidecar: the folder the user last
        # exported into (or their home) is findable.
        parent = settings().value(FOLDER_KEY, "") or str(Path.home())
        return Path(parent) / f"{self.run_dir.name}-export"

    def selected_format(self) -> str:
        return self.formats.checkedButton().property("format")

    def set_format(self, fmt: str) -> None:
        self.buttons[fmt].setChecked(True)

    def _on_format_toggled(self, _button, _checked) -> None:
        self.int8_input.setVisible(self.selected_format() == "tflite-int8")

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export into", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    def _set_running(self, running: bool) -> None:
        for widget in (self.export_button, self.close_button, self.browse_button,
                       self.folder_edit, self.int8_input, *self.buttons.values()):
            widget.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.progress.setVisible(running)

    def start_export(self) -> None:
        from mbv2gui.core.export import export_run

        folder = self.folder_edit.text().strip()
        if not folder:
            self.status.setText("Choose a folder to export into first.")
            return
        fmt = self.selected_format()
        project = getattr(self.context, "project", None)
        self.result = None
        self.open_button.setVisible(False)
        self.status.setToolTip("")
        self.status.setText(f"Exporting {TITLES[fmt]}…")
        self.progress.setRange(0, 0)
        self._set_running(True)
        self.job = self.context.jobs.start_in_engine(
            export_run, str(self.run_dir), fmt, folder,
            project_path=str(project.path) if project is not None else None,
            int8_input=self.int8_input.currentData(), name=f"Export {fmt}")
        self.job.progress.connect(self._on_progress)
        self.job.finished.connect(self._on_finished)
        self.job.failed.connect(self._on_failed)
        self.job.cancelled.connect(self._on_cancelled)

    def _on_progress(self, done: int, total, message: str) -> None:
        if total:
            self.progress.setRange(0, int(total))
            self.progress.setValue(int(done))
        self.status.setText(f"{message}…" if message else "")

    def _on_finished(self, result) -> None:
        self._set_running(False)
        self.result = result
        settings().setValue(FOLDER_KEY, str(Path(result.out_dir).parent))
        self.status.setText(result.summary() + " labels.txt, model.json and “How to use this "
                            "model.md” are beside it.")
        self.open_button.setVisible(True)

    def _on_failed(self, message: str, detail: str) -> None:
        self._set_running(False)
        self.status.setText(message)
        self.status.setToolTip(detail)  # the technical detail, for whoever helps the user

    def _on_cancelled(self) -> None:
        self._set_running(False)
        self.status.setText("Export cancelled; nothing was written.")

    def _cancel(self) -> None:
        if self.job is not None:
            self.cancel_button.setEnabled(False)
            self.status.setText("Stopping…")
            self.job.cancel()

    def _open_folder(self) -> None:
        if self.result is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self.result.out_dir))

    def reject(self) -> None:
        if self.job is not None and self.job.is_running():
            return  # Cancel first: closing must not orphan a job writing files
        super().reject()


def open_export_dialog(context, run_id: str = "", parent=None) -> ExportDialog:
    """Shows the Export dialog for a run (window-modal, not blocking) and returns it."""
    dialog = ExportDialog(context, run_id, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.show()
    return dialog
