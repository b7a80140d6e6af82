"""The window's status bar: the project's image counts (with links to the problem images) and
the progress of the job the window is running, with its Cancel button."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QToolButton, QWidget, QHBoxLayout

from mbv2gui.core.store.queries import image_ids_with_status
from mbv2gui.gui.shell.context import AppContext

# Problem states, the words for them, and the caption the Label view shows when asked.
PROBLEMS = (
    ("unreadable", "unreadable", "Unreadable images"),
    ("missing", "missing", "Missing images"),
    ("changed", "changed on disk", "Images changed on disk"),
)


class JobIndicator(QWidget):
    """“Importing images… 1,234 of 10,000 [=====   ] Cancel” for one job at a time."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._job = None
        self._label = QLabel()
        self._bar = QProgressBar()
        self._bar.setFixedWidth(160)
        self._bar.setTextVisible(False)
        self._cancel = QToolButton()
        self._cancel.setText("Cancel")
        self._cancel.setObjectName("cancelJob")
        self._cancel.clicked.connect(self._on_cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 6, 0)
        for widget in (self._label, self._bar, self._cancel):
            layout.addWidget(widget)
        self.hide()

    def track(self, job, text: str) -> None:
        self._job, self._text = job, text
        self._label.setText(f"{text}…")
        self._bar.setRange(0, 0)  # busy until the first progress event says how much
        self._cancel.setEnabled(True)
        job.progress.connect(self._on_progress)
        job.ended.connect(self._on_ended)
        self.show()

    def _on_progress(self, done: int, total, message: str) -> None:
        what = (message or self._text).rstrip(".… ")  # jobs may end theirs with "…" already
        if total:
            self._bar.setRange(0, int(total))
            self._bar.setValue(min(done, int(total)))
            self._label.setText(f"{what}… {done:,} of {int(total):,}")
        else:
            self._label.setText(f"{what}… {done:,}" if done else f"{what}…")

    def _on_cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self._cancel.setEnabled(False)
            self._label.setText("Stopping…")

    def _on_ended(self) -> None:
        if self._job is not None and not self._job.is_running():
            self._job = None
            self.hide()


class StatusBar(QStatusBar):
    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self._context = context
        self.setSizeGripEnabled(False)
        self.counts = QLabel()
        self.counts.setObjectName("imageCounts")
        self.counts.setTextFormat(Qt.TextFormat.RichText)
        self.counts.linkActivated.connect(self._show_problem_images)
        self.jobs = JobIndicator()
        self.addPermanentWidget(self.jobs)
        self.addPermanentWidget(self.counts)
        # Imports land in batches; recount once things settle rather than per batch.
        self._recount = QTimer(self)
        self._recount.setSingleShot(True)
        self._recount.setInterval(200)
        self._recount.timeout.connect(self.update_counts)
        context.imagesChanged.connect(lambda _ids: self._recount.start())
        context.classesChanged.connect(self._recount.start)
        context.projectChanged.connect(lambda _p: self.update_counts())

    def update_counts(self) -> None:
        project = self._context.project
        if project is None:
            self.counts.clear()
            return
        by_class = project.class_counts()  # two indexed GROUP BYs: milliseconds at 50,000
        by_status = project.status_counts()
        total = sum(by_class.values())
        unlabeled = by_class.get(None, 0)
        parts = [f"{total:,} image{'' if total == 1 else 's'}",
                 f"{total - unlabeled:,} labeled", f"{unlabeled:,} unlabeled"]
        for status, words, _caption in PROBLEMS:
            if by_status.get(status):
                parts.append(f'<a href="{status}">{by_status[status]:,} {words}</a>')
        self.counts.setText(" · ".join(parts))

    def _show_problem_images(self, status: str) -> None:
        project = self._context.project
        if project is None or self._context.jobs is None:
            return
        caption = next(c for s, _w, c in PROBLEMS if s == status)
        job = self._context.jobs.start(image_ids_with_status, str(project.path), [status],
                                       name="finding the images")
        job.ask_before_quit = False
        job.finished.connect(lambda ids: self._context.showImagesRequested.emit(ids, caption))
