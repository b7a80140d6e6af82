"""The Label view's "let the model suggest labels" strip (Lobe's and Create ML's best shortcut
for the long tail of unlabeled images).

With a trained run and unlabeled images it offers "Suggest labels": the run predicts every
unlabeled image in the job runner (core/inference/suggestions.py), and the gallery shows each
suggestion as a dashed chip ("rust? 87%"). "Accept suggestions…" then labels, in one undoable
step, every image whose suggestion is at least as confident as the threshold chosen.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton


class SuggestionsBar(QFrame):
    # The stored suggestions changed: {image id: (class name, confidence)}.
    suggestionsChanged = Signal(object)

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.setObjectName("suggestionsBar")
        self.context = context
        self._job = None
        self._unlabeled = 0
        self._suggestions: dict[int, tuple[str, float]] = {}
        self._error = ""
        # How many of these suggestions are for images still unlabeled (the Label view
        # answers from its gallery; a label given since the suggestion hides it).
        self.count_pending: Callable[[dict], int] = len
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setFixedWidth(140)
        self.progress.setTextVisible(False)
        self.suggest = QPushButton("Suggest labels")
        self.suggest.setToolTip("Let the latest model guess a label for every unlabeled image. "
                                "Nothing is labeled until you accept.")
        self.suggest.clicked.connect(self.start)
        self.accept = QPushButton("Accept suggestions…")
        self.accept.clicked.connect(self.accept_suggestions)
        self.cancel = QPushButton("Cancel")
        self.cancel.clicked.connect(self.stop)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.text, 1)
        for widget in (self.progress, self.suggest, self.accept, self.cancel):
            layout.addWidget(widget)
        context.projectChanged.connect(lambda _project: self.reload())
        context.runsChanged.connect(self._show_state)
        context.currentRunChanged.connect(lambda _run_id: self._show_state())
        self.reload()

    # ----------------------------------------------------------------- state
    def run_record(self):
        """The run the Evaluate/Predict views show, else the project's best run."""
        return self.context.current_run()

    def run_dir(self) -> str | None:
        record = self.run_record()
        return record.run_dir if record is not None else None

    def weak_model_sentence(self) -> str:
        """Why this run's suggestions would mostly be wrong, or "" when it is good enough."""
        from mbv2gui.core.inference.quality import too_weak_sentence

        record = self.run_record()
        return too_weak_sentence(record) if record is not None else ""

    def reload(self) -> None:
        """Reads the stored suggestions of the open project (one small query)."""

        project = self.context.project
        self._suggestions = project.suggestions() if project is not None else {}
        self.suggestionsChanged.emit(self._suggestions)
        self._show_state()

    def set_unlabeled_count(self, count: int) -> None:
        self._unlabeled = count
        self._show_state()

    def suggestions(self) -> dict[int, tuple[str, float]]:
        return dict(self._suggestions)

    def _show_state(self) -> None:
        running = self._job is not None
        pending = self.count_pending(self._suggestions) if self._unlabeled else 0
        has_run = self.run_dir() is not None
        self.setVisible(self.context.project is not None and has_run
                        and (self._unlabeled > 0 or running))
        self.progress.setVisible(running)
        self.cancel.setVisible(running)
        self.suggest.setVisible(not running)
        weak = self.weak_model_sentence() if has_run else ""
        self.suggest.setText("Suggest anyway" if weak and not pending else
                             "Suggest again" if pending else "Suggest labels")
        self.accept.setVisible(not running and pending > 0)
        if running:
            return
        if self._error:
            self.text.setText(self._error)
            return
        images = f"{self._unlabeled:,} image{'' if self._unlabeled == 1 else 's'}"
        if weak:
            self.text.setText(f"{images} without a label. {weak}")
        elif pending:
            self.text.setText(f"{images} without a label. The model's suggestions are shown "
                              "as dashed labels; accept the confident ones in one step.")
        else:
            self.text.setText(f"{images} without a label. The model can suggest one for each.")

    # ----------------------------------------------------------------- the job
    def start(self) -> None:
        from mbv2gui.core.inference.suggestions import suggest_labels

        run_dir = self.run_dir()
        if self.context.project is None or run_dir is None or self._job is not None:
            return
        self._job = self.context.jobs.start_in_engine(suggest_labels,
                                                      str(self.context.project.path),
                                                      str(run_dir), name="suggesting labels")
        self._job.ask_before_quit = False  # nothing is lost by stopping it
        self._job.progress.connect(self._on_progress)
        self._job.ended.connect(self._on_ended)
        self._job.failed.connect(self._on_failed)
        self._error = ""
        self.progress.setRange(0, 0)
        self.text.setText("Asking the model about the unlabeled images…")
        self._show_state()

    def stop(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self.text.setText("Stopping…")

    def is_running(self) -> bool:
        return self._job is not None

    def _on_progress(self, done: int, total, _message: str) -> None:
        if total:
            self.progress.setRange(0, int(total))
            self.progress.setValue(done)
            self.text.setText(f"Asking the model about the unlabeled images… {done:,} of "
                              f"{int(total):,}")

    def _on_failed(self, message: str, _detail: str) -> None:
        self._error = message

    def _on_ended(self) -> None:
        self._job = None
        self.reload()

    # ----------------------------------------------------------------- accepting
    def accept_suggestions(self) -> None:
        from mbv2gui.gui.label.accept_suggestions import ask_accept_threshold

        if self.context.project is None:
            return
        threshold = ask_accept_threshold(self, self.context.project)
        if threshold is not None:
            self.apply_threshold(threshold)

    def apply_threshold(self, threshold: float) -> int:
        """Labels every unlabeled image whose suggestion is at least `threshold` confident
        (one undo step); returns how many. (The dialog's answer, also for tests.)"""
        from mbv2gui.core.inference.suggestions import accept_suggestions
        from mbv2gui.gui.label.accept_suggestions import AcceptSuggestionsCommand

        labels = accept_suggestions(self.context.project, threshold)
        if labels:
            self.context.undo_stack.push(AcceptSuggestionsCommand(self.context, labels))
        return len(labels)
