"""The menu bar, its shortcuts, and the two Help dialogs."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMessageBox

from mbv2gui import __version__
from mbv2gui.gui.shell.settings import recent_projects

if TYPE_CHECKING:
    from mbv2gui.gui.shell.main_window import MainWindow

class Menus:
    def __init__(self, window: "MainWindow"):
        self._window = window
        bar = window.menuBar()
        file_menu = bar.addMenu("&File")
        self.new_project = self._add(file_menu, "&New Project…", window.projects.new_project_dialog,
                                     QKeySequence.StandardKey.New)
        self.open_project = self._add(file_menu, "&Open Project…",
                                      window.projects.open_project_dialog,
                                      QKeySequence.StandardKey.Open)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file_menu.addSeparator()
        self.import_folder = self._add(file_menu, "Import &Folder…", window.import_folder_dialog,
                                       "Ctrl+I")
        self.import_files = self._add(file_menu, "Import F&iles…", window.import_files_dialog,
                                      "Ctrl+Shift+I")
        self.import_csv = self._add(file_menu, "Import &CSV…", window.import_csv_dialog)
        file_menu.addSeparator()
        self.predict = self._add(file_menu, "&Predict Images…", window.predict_files_dialog,
                                 "Ctrl+P")
        self.export_model = self._add(file_menu, "&Export Model…", self.export_current_run, "Ctrl+E")
        self.save_report = self._add(file_menu, "Save &Report…", self.save_report_dialog)
        file_menu.addSeparator()
        self.close_project = self._add(file_menu, "&Close Project", window.projects.close_project,
                                       QKeySequence.StandardKey.Close)
        self.quit = self._add(file_menu, "&Quit", window.close, "Ctrl+Q")  # Windows has no standard

        edit_menu = bar.addMenu("&Edit")
        stack = window.context.undo_stack
        self.undo = stack.createUndoAction(window, "&Undo")
        self.undo.setShortcuts([QKeySequence.StandardKey.Undo])
        self.redo = stack.createRedoAction(window, "&Redo")
        # Ctrl+Shift+Z everywhere, and Ctrl+Y that Windows users expect.
        self.redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        edit_menu.addAction(self.undo)
        edit_menu.addAction(self.redo)

        view_menu = bar.addMenu("&View")
        self.views = []
        for index, name in enumerate(window.VIEW_NAMES):
            action = self._add(view_menu, name, lambda _=False, i=index: window.show_view(i),
                               f"Ctrl+{index + 1}")
            self.views.append(action)

        help_menu = bar.addMenu("&Help")
        self.getting_started = self._add(help_menu, "&Getting Started", self.show_getting_started,
                                         QKeySequence.StandardKey.HelpContents)
        self._add(help_menu, "&Keyboard Shortcuts", self.show_shortcuts, "Ctrl+/")
        self._add(help_menu, "&About mbv2gui", self.show_about)
        self.project_actions = [self.import_csv, self.predict, self.export_model, self.save_report,
                                self.close_project, *self.views]

    def _add(self, menu: QMenu, text: str, slot, shortcut=None) -> QAction:
        action = QAction(text, self._window)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _current_run(self, title: str, what: str):
        """The run the Train/Evaluate views show, or the project's best run; None (and said)
        when there is none."""
        context = self._window.context
        chosen = context.current_run()
        if chosen is None:
            QMessageBox.information(self._window, title, f"There is no trained model {what} "
                                    "yet: train one in the Train view first.")
        return chosen

    def export_current_run(self) -> None:
        """Exports the run the Train/Evaluate views show, or the project's best run."""
        chosen = self._current_run("Export Model", "to export")
        if chosen is None:
            return
        from mbv2gui.gui.shell.export_dialog import ExportDialog

        ExportDialog(self._window.context, chosen.run_dir, self._window).exec()

    def save_report_dialog(self) -> None:
        """A report of the same run, as an HTML file and a PDF beside it, where the user says;
        written by a job (a second or two), so the window never waits for it."""
        from PySide6.QtWidgets import QFileDialog

        chosen = self._current_run("Save Report", "to report on")
        if chosen is None:
            return
        suggested = os.path.join(os.path.expanduser("~"), "mbv2gui report.pdf")
        path, _ = QFileDialog.getSaveFileName(self._window, "Save Report (HTML and PDF)",
                                              suggested, "PDF and HTML (*.pdf *.html)")
        if path:
            self.write_report(chosen.run_dir, path)

    def write_report(self, run_dir, path: str):
        """Writes the report of `run_dir` to `path` (and its .html/.pdf pair) in the background;
        the status bar says where it went, a failure says why. Returns the job."""
        from mbv2gui.gui.common.report_files import report_job

        window = self._window
        job = window.context.jobs.start(report_job, str(run_dir), path, name="writing the report")
        job.finished.connect(lambda written: window.statusBar().showMessage(
            "Saved the report: " + " and ".join(str(p) for p in written), 10000))
        job.failed.connect(lambda text, _detail: QMessageBox.warning(window, "Save Report", text))
        return job

    def set_project_open(self, is_open: bool) -> None:
        for action in self.project_actions:
            action.setEnabled(is_open)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        paths = recent_projects()
        for path in paths:
            action = self.recent_menu.addAction(os.path.basename(path))
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, p=path: self._window.open_path(p))
        if not paths:
            self.recent_menu.addAction("No recent projects").setEnabled(False)

    def show_shortcuts(self) -> None:
        rows = [("Ctrl+N / Ctrl+O", "New / open a project"),
                ("Ctrl+I", "Import a folder of images (or drop it on the window)"),
                ("Ctrl+Z / Ctrl+Shift+Z", "Undo / redo labels, class changes and imports"),
                ("Ctrl+1 … Ctrl+4", "Label, Train, Evaluate, Predict")]
        # The Label view's own list, so its keys are written down once (imported here, not at
        # start: the window builds each view when first shown).
        from mbv2gui.gui.label.label_view import SHORTCUTS as LABELING_SHORTCUTS

        rows += LABELING_SHORTCUTS
        table = "".join(f"<tr><td style='padding:3px 18px 3px 0'><b>{keys}</b></td>"
                        f"<td>{what}</td></tr>" for keys, what in rows)
        box = QMessageBox(QMessageBox.Icon.NoIcon, "Keyboard Shortcuts",
                          f"<table>{table}</table>", parent=self._window)
        box.open()

    def show_getting_started(self):
        from mbv2gui.gui.shell.getting_started import GettingStartedDialog

        dialog = GettingStartedDialog(self._window)
        dialog.show()  # not modal: it can stay open beside the window while the person works
        return dialog

    def show_about(self) -> None:
        QMessageBox.about(
            self._window, "About mbv2gui",
            f"<h3>mbv2gui {__version__}</h3><p>Turn folders of images into a working image "
            "classifier (MobileNetV2) without writing code: label, train, evaluate, predict.</p>"
            "<p>Your images are never changed or copied; a project only points to them.</p>")
