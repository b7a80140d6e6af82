"""What a running training (or weights download) says, shown in the Train view: the progress
bar, the one-line status (phase, epoch, images/s, honest time left) and the engine's log.

It follows the job's events (core/training/train.py lists them); the Train view decides when a
job starts and ends and what its result says."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QProgressBar

from mbv2gui.gui.train.run_summary import duration, percent
from mbv2gui.gui.train.time_left import ESTIMATING, TimeLeft

PHASE_TITLES = {"features": "Computing image features", "head": "Training the classifier",
                "fine_tune": "Fine-tuning the network", "scratch": "Training from scratch"}


class JobStatus(QObject):
    """`plots` (TrainPlots) draws the curves from the same events; `listening()` says whether
    the job's numbers are still wanted (not once it ended or was asked to stop). A QObject
    with the view as parent, so the job's signals reach it on the window's thread."""

    def __init__(self, plots, listening: Callable[[], bool], parent):
        super().__init__(parent)
        self.plots, self._listening = plots, listening
        self.phase = ""  # the job's current phase, or "download"
        self._time_left = TimeLeft()
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(8)
        self.status = QLabel()
        self.status.setObjectName("trainStatus")
        self.status.setWordWrap(True)
        self.log = QPlainTextEdit()
        self.log.setObjectName("trainLog")
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(3000)
        self.log.setPlaceholderText("What the training engine says appears here.")
        # Readable: lines wrap instead of running off to the right, and the pane shows a dozen
        # lines, not four (the curves above keep the larger share).
        self.log.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.log.setMinimumHeight(12 * self.log.fontMetrics().lineSpacing())

    def begin(self, phase: str = "") -> None:
        self.phase = phase
        self._time_left.reset("")

    def on_event(self, event: dict) -> None:
        kind = event.get("type")
        self.plots.on_event(event)
        if kind == "phase":
            self.phase = event.get("phase", "")
            self.log.appendPlainText(event.get("message") or PHASE_TITLES.get(self.phase, ""))
            self.status.setText(PHASE_TITLES.get(self.phase, event.get("message", "")) + "…")
        elif kind == "batch":
            self._on_batch(event)
        elif kind == "epoch":
            self._on_epoch(event)
        elif kind == "message":
            level = event.get("level", "info")
            prefix = {"warning": "Warning: ", "error": "Error: "}.get(level, "")
            self.log.appendPlainText(prefix + str(event.get("text", "")))

    def on_progress(self, done: int, total, message: str) -> None:
        if not self._listening():
            return
        if total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * done / max(1, total)))
            if self.phase == "download":  # the message counts megabytes itself
                self.status.setText(message)
            else:
                self.status.setText(f"{message or PHASE_TITLES.get(self.phase, 'Working')}: "
                                    f"{done} of {total} images")

    def _on_batch(self, event: dict) -> None:
        if not self._listening():
            return
        phase = event.get("phase", self.phase)
        epoch, epochs = int(event.get("epoch") or 1), int(event.get("epochs") or 0)
        step, steps = int(event.get("step") or 0), max(1, int(event.get("steps") or 1))
        self.progress.setRange(0, 1000)
        if epochs:  # the share of this phase's batches done
            self.progress.setValue(int(1000 * ((epoch - 1) * steps + step) / (epochs * steps)))
        left = self._time_left.update(phase, epoch, step, steps, epochs)
        speed = event.get("images_per_second")
        of_epochs = f" of {epochs}" if epochs else ""
        parts = [f"{PHASE_TITLES.get(phase, 'Training')}: epoch {epoch}{of_epochs}"]
        if isinstance(speed, (int, float)):
            parts.append(f"{speed:.0f} images/s")
        # "at most": early stopping may end it sooner.
        parts.append(ESTIMATING if left is None else f"at most {duration(left)} left")
        self.status.setText(" · ".join(parts))
        self.status.setToolTip(f"Batch {step} of {steps} in this epoch.")

    def _on_epoch(self, event: dict) -> None:
        words = [f"Epoch {event.get('epoch')} of {event.get('epochs')}",
                 f"loss {event.get('loss', 0):.3f}", f"accuracy {percent(event.get('accuracy'))}"]
        if event.get("val_accuracy") is not None:
            words.append(f"validation accuracy {percent(event.get('val_accuracy'))}")
        self.log.appendPlainText(", ".join(words))
