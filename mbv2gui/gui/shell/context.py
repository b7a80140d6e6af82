"""What every view shares: the open project, the undo stack, the job runner, and the signals
that tell views to refresh. Views never talk to each other directly; they talk through this."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from mbv2gui.core.inference.quality import default_run
from mbv2gui.core.store.project import Project, RunRecord


class AppContext(QObject):
    # The project was opened, created or closed (None); every view reloads.
    projectChanged = Signal(object)
    # Images were added/removed/relabeled (ids; empty list: "many, reload everything").
    imagesChanged = Signal(list)
    # Classes were added, renamed, recolored, merged, deleted or reordered.
    classesChanged = Signal()
    # A training run was finished or deleted.
    runsChanged = Signal()
    # The run the Evaluate/Predict views show (run id, or "" for none).
    currentRunChanged = Signal(str)
    # A view asks the window to show the Label view filtered to these image ids.
    showImagesRequested = Signal(list, str)  # ids, a caption such as "Unreadable images"
    # A view asks for a model trained on the current labels: the window shows the Train view
    # and starts training (unless a training is already running).
    retrainRequested = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.project: Project | None = None
        self.undo_stack = QUndoStack(self)
        self.current_run_id = ""
        # Set by the main window: the one JobRunner every view uses for long jobs.
        self.jobs = None
        # Set by the main window: "retrain as you label" (mbv2gui.gui.train.auto_retrain), or None.
        self.retrainer = None

    def set_project(self, project: Project | None) -> None:
        if self.project is not None and self.project is not project:
            self.project.close()
        self.project = project
        self.undo_stack.clear()
        self.current_run_id = ""
        self.projectChanged.emit(project)

    def current_run(self) -> RunRecord | None:
        """The run every view shows: the one the person chose if it still exists, else the
        project's best (core/inference/quality.py default_run); None without a run."""
        project = self.project
        return default_run(project.runs() if project is not None else [], self.current_run_id)

    def set_current_run(self, run_id: str) -> None:
        if run_id != self.current_run_id:
            self.current_run_id = run_id
            self.currentRunChanged.emit(run_id)
