"""Export… on a run: pick a format (each with one line saying what it is for) and a folder;
Export runs the export job (write, reload with the format's own runtime, compare with the app)
with a progress bar and Cancel, then shows the agreement, the file size and "Open folder"."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QButtonGroup, QDialog, QFileDialog, QHBoxLayout, QLabel,
                               QLineEdit, QProgressBar, QPushButton, QRadioButton, QVBoxLayout)

from mbv2gui.core.export.formats import FORMATS

TITLES = {"keras": "Keras", "savedmodel": "TensorFlow SavedModel", "tflite": "TensorFlow Lite",
          "tflite-fp16": "TensorFlow Lite, half size (float16)",
          "tflite-int8": "TensorFlow Lite, 8-bit integer (smallest, fastest)", "onnx": "ONNX"}


class ExportDialog(QDialog):
    def __init__(self, context, run_dir, parent=None):
        super().__init__(parent)
        self.context = context
        self.run_dir = Path(run_dir)
        self.job = None
        self.result = None
        self.setWindowTitle(f"Export {self.run_dir.name}")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Format:"))
        self.formats = QButtonGroup(self)
        self.buttons = {}
        for index, (fmt, text) in enumerate(FORMATS.items()):
            button = QRadioButton(TITLES[fmt])
            button.setToolTip(text)
            button.setProperty("format", fmt)
            self.formats.addButton(button, index)
            self.buttons[fmt] = button
            layout.addWidget(button)
            explanation = QLabel(text)
            explanation.setWordWrap(True)
            explanation.setIndent(24)
            explanation.setEnabled(False)  # greyed: a caption, not a control
            layout.addWidget(explanation)
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

    def _default_folder(self) -> Path:
        # Beside the run would hide it in the project's sidecar: the user's home is findable.
        return Path.home() / f"{self.run_dir.name}-export"

    def selected_format(self) -> str:
        return self.formats.checkedButton().property("format")

    def set_format(self, fmt: str) -> None:
        self.buttons[fmt].setChecked(True)

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export into", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    def _set_running(self, running: bool) -> None:
        self.export_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.close_button.setEnabled(not running)
        self.browse_button.setEnabled(not running)
        self.folder_edit.setEnabled(not running)
        for button in self.buttons.values():
            button.setEnabled(not running)
        self.progress.setVisible(running)

    def start_export(self) -> None:
        from mbv2gui.core.export import export_run

        folder = self.folder_edit.text().strip()
        if not folder:
            self.status.setText("Choose a folder to export into first.")
            return
        fmt = self.selected_format()
        project = getattr(self.context, "project", None)
        project_path = str(project.path) if project is not None else None
        self.result = None
        self.open_button.setVisible(False)
        self.status.setText(f"Exporting {TITLES[fmt]}…")
        self.progress.setRange(0, 0)
        self._set_running(True)
        self.job = self.context.jobs.start(export_run, str(self.run_dir), fmt, folder,
                                           project_path=project_path, name=f"Export {fmt}")
        self.job.progress.connect(self._on_progress)
        self.job.finished.connect(self._on_finished)
        self.job.failed.connect(self._on_failed)
        self.job.cancelled.connect(self._on_cancelled)

    def _on_progress(self, done: int, total, message: str) -> None:
        if total:
            self.progress.setRange(0, int(total))
            self.progress.setValue(int(done))
        self.status.setText(f"{message}…" if message else "")

    def _on_finished(self, result: dict) -> None:
        self._set_running(False)
        self.result = result
        agreement = result["agreement"]
        self.status.setText(
            f"Exported {', '.join(result['files'])} ({_megabytes(result['bytes'])}). Same top "
            f"answer as the app on {agreement['agreeing']} of {agreement['images']} images "
            f"({agreement['top1_agreement']:.1%}), checked with {agreement['runtime']}. "
            "labels.txt, model.json and “How to use this model.md” are beside it.")
        self.open_button.setVisible(True)

    def _on_failed(self, message: str, detail: str) -> None:
        self._set_running(False)
        self.status.setText(message)
        self.status.setToolTip(detail)

    def _on_cancelled(self) -> None:
        self._set_running(False)
        self.status.setText("Export cancelled; nothing was written.")

    def _cancel(self) -> None:
        if self.job is not None:
            self.cancel_button.setEnabled(False)
            self.status.setText("Stopping…")
            self.job.cancel()

    def _open_folder(self) -> None:
        if self.result:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self.result["out_dir"]))

    def reject(self) -> None:
        if self.job is not None and self.job.is_running():
            return  # Cancel first: closing must not orphan a job writing files
        super().reject()


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.0f} KB"
