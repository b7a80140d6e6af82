"""Retrain as you label: when it is on, every label change is followed, after a short pause,
by a quick head-only retraining on the cached features (core/training/quick_retrain.py), so the model
the Evaluate and Predict views show keeps up with the labels, as in Lobe.

    retrainer = AutoRetrainer(context)          # needs context.jobs (the window's JobRunner)
    checkbox, label = retrain_controls(retrainer, lambda: form.config().to_dict())

Rules: changes are debounced (DEBOUNCE_MS); one retraining (a job of kind RETRAINING) at a
time, which never holds up quitting; a change while it runs cancels it and a new one starts
after the pause; while a manual training (a job of kind TRAINING, gui/shell/jobrunner.py) runs,
it waits, and a manual training that starts cancels a retraining (that training will be newer
anyway): recognised by its kind, never by the words of its name. A finished retraining becomes
the current run. A failure is told in a sentence and turns the feature off. The on/off choice is
a project setting ("retrain_as_you_label").
"""

from __future__ import annotations

import re
import time
from typing import Callable

from PySide6.QtCore import QObject, QSignalBlocker, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QLabel

from mbv2gui.core.errors import UserError
from mbv2gui.core.inference.quality import too_weak_sentence
from mbv2gui.core.training.quick_retrain import latest_run_config, retrain_config, retrain_head
from mbv2gui.gui.shell.jobrunner import RETRAINING, TRAINING

SETTING = "retrain_as_you_label"
JOB_NAME = "retraining"
DEBOUNCE_MS = 2000

OFF = "Retrain as you label is off."
ON = "Retrain as you label is on: the model retrains a few seconds after you change a label."
WAITING = "Your labels changed; retraining as soon as the current training ends…"
RUNNING = "Retraining with your latest labels…"


def up_to_date_sentence(run) -> str:
    """"Model up to date (trained 01:06, 91% validation accuracy)." and, when the model is too
    weak for its suggestions to mean much, why and what to do."""
    accuracy = (run.metrics or {}).get("val_accuracy")
    # Run ids begin with their start time (core.runs.new_run_id: YYYYmmdd-HHMMSS-xxxx).
    stamp = re.match(r"\d{8}-(\d\d)(\d\d)\d\d", getattr(run, "run_id", "") or "")
    when = f"{stamp.group(1)}:{stamp.group(2)}" if stamp else time.strftime("%H:%M")
    if accuracy is None:
        return f"Model up to date (trained {when})."
    text = f"Model up to date (trained {when}, {accuracy:.0%} validation accuracy)."
    weak = too_weak_sentence(run)
    return f"{text} {weak}" if weak else text


class AutoRetrainer(QObject):
    stateChanged = Signal(str)  # a sentence for the person: what the model is doing

    def __init__(self, context, parent: QObject | None = None):
        super().__init__(parent if parent is not None else context)
        self._context = context
        self._enabled = False
        self._job = None
        self._pending = False  # labels changed while a retraining ran: go again after it
        self._base_config: dict | None = None
        self._project_of_job = None
        self.state = OFF
        self.last_error_detail = ""
        self.debounce_ms = DEBOUNCE_MS
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._start)
        context.projectChanged.connect(self._on_project_changed)
        context.imagesChanged.connect(self._on_labels_changed)
        context.classesChanged.connect(self._on_labels_changed)
        jobs = context.jobs
        if jobs is not None:
            jobs.jobStarted.connect(self._on_job_started)
        self._on_project_changed(context.project)

    # ----------------------------------------------------------------- API
    def is_enabled(self) -> bool:
        return self._enabled

    def is_running(self) -> bool:
        return self._job is not None and self._job.is_running()

    def set_base_config(self, config: dict | Callable[[], dict] | None) -> None:
        """The settings to retrain with instead of the latest run's: a dict, or a callable
        asked each time (e.g. the Train view's form), or None for the latest run's."""
        self._base_config = config if callable(config) or config is None else dict(config)

    def base_config(self) -> dict | None:
        config = self._base_config() if callable(self._base_config) else self._base_config
        if config is not None and not isinstance(config, dict):
            config = config.to_dict()  # a TrainConfig
        return config

    def set_enabled(self, enabled: bool) -> None:
        enabled = bool(enabled)
        project = self._context.project
        if enabled == self._enabled or (enabled and project is None):
            return
        if enabled:
            try:  # say at once when the settings cannot retrain in seconds (no TF, no pixels)
                base = self.base_config()
                retrain_config(base if base is not None else latest_run_config(project))
            except UserError as exc:
                self._fail(exc.message, exc.detail)
                return
        self._enabled = enabled
        if project is not None:
            project.set_setting(SETTING, enabled)
        if enabled:
            self._set_state(ON)
            if not project.runs():  # nothing trained yet: make the first model now
                self._schedule()
        else:
            self._timer.stop()
            self._pending = False
            if self.is_running():
                self._job.cancel()
            self._set_state(OFF)

    # ----------------------------------------------------------------- reacting
    def _on_project_changed(self, project) -> None:
        self._timer.stop()
        self._pending = False
        if self.is_running():
            self._job.cancel()
        self._enabled = bool(project is not None and project.setting(SETTING, False))
        self._set_state(ON if self._enabled else OFF)

    def _on_labels_changed(self, *_args) -> None:
        if not self._enabled:
            return
        if self.is_running():
            self._pending = True
            self._job.cancel()
            return
        self._schedule()

    def _schedule(self) -> None:
        self._timer.start(self.debounce_ms)

    def _on_job_started(self, job) -> None:
        if job.kind == TRAINING and self.is_running():
            self._pending = False  # the manual training will be newer than ours
            self._job.cancel()

    def _manual_training_running(self) -> bool:
        jobs = self._context.jobs
        return any(job.kind == TRAINING and job.is_running()
                   for job in (jobs.running_jobs() if jobs is not None else []))

    def _start(self) -> None:
        project = self._context.project
        if not self._enabled or project is None:
            return
        if self.is_running():
            self._pending = True
            self._job.cancel()
            return
        if self._manual_training_running():
            self._set_state(WAITING)
            self._schedule()  # look again after another pause
            return
        self._pending = False
        job = self._context.jobs.start_in_engine(retrain_head, str(project.path), name=JOB_NAME,
                                                 kind=RETRAINING, base_config=self.base_config())
        job.ask_before_quit = False
        job.finished.connect(self._on_finished)
        job.failed.connect(self._on_failed)
        job.cancelled.connect(self._on_cancelled)
        job.ended.connect(self._on_ended)
        self._job = job
        self._project_of_job = project
        self._set_state(RUNNING)

    def _on_finished(self, run) -> None:
        if self._context.project is not self._project_of_job:
            return  # the project was closed meanwhile; its run is recorded in its own file
        self._context.runsChanged.emit()
        self._context.set_current_run(run.run_id)
        if not self._pending:
            self._set_state(up_to_date_sentence(run))

    def _on_failed(self, text: str, detail: str) -> None:
        if self._job is not None and self._job.cancel_requested():
            self._on_cancelled()  # stopped on purpose; what it stumbled on meanwhile is moot
            return
        if self._context.project is not self._project_of_job:
            return  # about a project that is closed now
        self._fail(text, detail)

    def _on_cancelled(self) -> None:
        if self._enabled and not self._pending and self.state == RUNNING:
            self._set_state(ON)  # e.g. a manual training took over; it makes the new model

    def _on_ended(self) -> None:
        self._job = None
        if self._enabled and self._pending:
            self._set_state(RUNNING)
            self._schedule()

    def _fail(self, text: str, detail: str = "") -> None:
        self.last_error_detail = detail or text
        self._timer.stop()
        self._pending = False
        was = self._enabled
        self._enabled = False
        project = self._context.project
        if was and project is not None:
            project.set_setting(SETTING, False)
        self._set_state(text)

    def _set_state(self, text: str) -> None:
        if text in (ON, RUNNING):
            self.last_error_detail = ""
        self.state = text
        self.stateChanged.emit(text)


def retrain_controls(retrainer: AutoRetrainer, config: Callable[[], dict] | None = None,
                     text: str = "Retrain as you label") -> tuple[QCheckBox, QLabel]:
    """A checkbox that turns `retrainer` on and off and a label that says what it is doing,
    wired both ways. `config`, when given, supplies the settings each retraining uses (e.g.
    `lambda: form.config().to_dict()`); without it the latest run's settings are used."""
    box = QCheckBox(text)
    box.setObjectName("retrainAsYouLabel")
    box.setToolTip("After each label change, train a new classifier on the cached image "
                   "features (a few seconds; needs pretrained weights).")
    state = QLabel(retrainer.state if retrainer.is_enabled() else "")
    state.setObjectName("retrainState")
    state.setWordWrap(True)
    box.setChecked(retrainer.is_enabled())
    if config is not None:
        retrainer.set_base_config(config)

    def on_state(sentence: str) -> None:
        with QSignalBlocker(box):  # showing the state is not a click
            box.setChecked(retrainer.is_enabled())
        state.setText("" if sentence == OFF else sentence)

    retrainer.stateChanged.connect(on_state)
    box.toggled.connect(retrainer.set_enabled)
    return box, state
