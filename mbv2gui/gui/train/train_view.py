"""The Train view: check the labels, choose settings, press Start, watch the model learn.

Left: what will be trained on (classes and image counts), the problems found before Start
(each with "Show these images"), the settings form, Start/Stop, progress with images/s and the
time left, and the result in words. Right: the curves (live, or the selected past run's, with a
second run overlaid for comparison), the list of runs and the engine's log.

Training is mbv2gui.core.training.train.train run in the engine process through the one JobRunner
(`start_in_engine`, `name="training"`), so the window never imports TensorFlow, a crash there
is a sentence here, and the person can keep labeling meanwhile. Labels changed
during a training are not in it; the view says so when it ends and offers to retrain."""

from __future__ import annotations

import logging
import sqlite3
import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea,
                               QSplitter, QTabWidget, QVBoxLayout, QWidget)

from mbv2gui.core.training.preflight import Problem, check_training_data, trains_from_scratch
from mbv2gui.core.run_names import record_name
from mbv2gui.gui.train.auto_retrain import retrain_controls
from mbv2gui.gui.common import colors
from mbv2gui.gui.common.notice_bar import NoticeBar
from mbv2gui.gui.shell.jobrunner import TRAINING
from mbv2gui.gui.train.job_status import JobStatus
from mbv2gui.gui.train.run_summary import run_result
from mbv2gui.gui.train.problem_row import ProblemRow
from mbv2gui.gui.train.runs_panel import RunsPanel
from mbv2gui.gui.train.train_form import TrainForm
from mbv2gui.gui.train.train_plots import TrainPlots

log = logging.getLogger(__name__)

class TrainView(QWidget):
    trainingStarted = Signal()
    trainingEnded = Signal(str)  # "finished" | "failed" | "cancelled"

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.context = context
        self.problems: list[Problem] = []
        self._job = None
        self._job_project = None  # the project file the running job trains on
        self._labels_changed = False
        self._last_run_id = ""
        self._preflight_stale = False
        self._build()
        self._preflight_timer = QTimer(self)
        self._preflight_timer.setSingleShot(True)
        self._preflight_timer.setInterval(250)
        self._preflight_timer.timeout.connect(self.refresh_preflight)
        context.projectChanged.connect(self._on_project_changed)
        context.imagesChanged.connect(lambda _ids: self._on_labels_changed())
        context.classesChanged.connect(self._on_labels_changed)
        self.form.changed.connect(self._preflight_timer.start)
        context.runsChanged.connect(self._offer_earlier_runs)
        self.runs.runSelected.connect(self._on_run_selected)
        self.runs.compareChanged.connect(lambda _id, history: self.plots.set_comparison(history))
        self._on_project_changed(context.project)

    # ----------------------------------------------------------------- layout
    def _build(self) -> None:
        title = QLabel("Train a classifier")
        title.setObjectName("trainTitle")
        title.setStyleSheet("font-size: 15pt; font-weight: 600;")
        self.data_summary = QLabel()
        self.data_summary.setObjectName("trainDataSummary")
        self.data_summary.setWordWrap(True)
        self.problems_box = QWidget()
        self.problems_layout = QVBoxLayout(self.problems_box)
        self.problems_layout.setContentsMargins(0, 0, 0, 0)
        self.problems_layout.setSpacing(6)
        self.form = TrainForm()

        self.start_button = QPushButton("Start Training")
        self.start_button.setObjectName("primaryButton")
        self.start_button.setMinimumHeight(34)
        self.start_button.clicked.connect(self._on_start_stop)
        self.plots = TrainPlots()
        self.job_status = JobStatus(self.plots, lambda: self._job is not None
                                    and not self._job.cancel_requested(), self)
        self.progress, self.status = self.job_status.progress, self.job_status.status
        self.result = QLabel()
        self.result.setObjectName("trainResult")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.labels_notice = NoticeBar()
        self.weights_notice = NoticeBar(stacked=True)  # no pretrained weights: what now

        left = QWidget()
        left.setObjectName("trainControls")
        column = QVBoxLayout(left)
        column.setContentsMargins(14, 12, 14, 12)
        column.setSpacing(10)
        column.addWidget(title)
        column.addWidget(self.data_summary)
        column.addWidget(self.problems_box)
        column.addWidget(self.form)
        column.addWidget(self.start_button)
        column.addWidget(self.weights_notice)
        if self.context.retrainer is not None:
            self.retrain_box, self.retrain_state = retrain_controls(
                self.context.retrainer, lambda: self.form.config().to_dict())
            column.addWidget(self.retrain_box)
            column.addWidget(self.retrain_state)
        column.addWidget(self.progress)
        column.addWidget(self.status)
        column.addWidget(self.result)
        column.addWidget(self.labels_notice)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(left)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFixedWidth(390)
        scroll.setObjectName("trainControlsScroll")
        self._controls_scroll = scroll
        scroll.setStyleSheet("QScrollArea#trainControlsScroll { background: #ffffff; "
                             "border-right: 1px solid #dfe4ec; }"
                             " QWidget#trainControls { background: #ffffff; }")

        self.runs = RunsPanel(self.context)
        self.log = self.job_status.log
        self.tabs = QTabWidget()
        self.tabs.addTab(self.runs, "Runs")
        self.tabs.addTab(self.log, "Log")
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.plots)
        right.addWidget(self.tabs)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)
        right.setChildrenCollapsible(False)
        plots_holder = QWidget()
        holder_layout = QVBoxLayout(plots_holder)
        holder_layout.setContentsMargins(6, 10, 12, 10)
        holder_layout.addWidget(right)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(scroll)
        layout.addWidget(plots_holder, 1)

    # ----------------------------------------------------------------- public API
    def is_training(self) -> bool:
        return self._job is not None and self._job.is_running()

    def start_training(self) -> bool:
        """Starts a training on the project's current labels with the form's settings.
        Returns False (and says why) when it cannot start."""
        project = self.context.project
        if project is None or self.is_training() or self.context.jobs is None:
            return False
        self.refresh_preflight()
        blocking = [p for p in self.problems if p.blocking]
        if blocking:
            self._set_result(f"Training cannot start: {blocking[0].text}", "error")
            return False
        self.weights_notice.hide()
        if self.form.weights_status().kind == "will_download":
            return self._download_weights_then_train()
        from mbv2gui.core.training.train import train  # no TensorFlow: train imports it when it runs

        config = self.form.config()
        self.form.save()
        self._labels_changed = False
        self.labels_notice.hide()
        self.job_status.begin()
        self._job_project = project.path
        self.plots.start_live("Training… the curves fill in as the model learns.")
        self.log.appendPlainText(f"— Training started {time.strftime('%H:%M:%S')} "
                                 f"({config.image_size} px, alpha {config.alpha}, "
                                 f"weights {config.weights}) —")
        self._follow(self.context.jobs.start_in_engine(train, str(project.path), config,
                                                       name="training", kind=TRAINING),
                     self._on_finished, self._on_cancelled,
                     "Starting… (loading TensorFlow and building the network)")
        self.trainingStarted.emit()
        return True

    def _follow(self, job, on_finished, on_cancelled, status: str) -> None:
        """Makes `job` the view's job: its events, progress and end drive the view."""
        job.event.connect(self.job_status.on_event)
        job.progress.connect(self.job_status.on_progress)
        job.finished.connect(on_finished)
        job.failed.connect(self._on_failed)
        job.cancelled.connect(on_cancelled)
        self._job = job
        self._set_result("", "info")
        self.status.setText(status)
        self.progress.setRange(0, 0)  # busy until the first numbers arrive
        self._update_controls()

    def _download_weights_then_train(self) -> bool:
        """Downloads the pretrained weights once (progress, Cancel), then starts the training.
        A plain download: no TensorFlow, so a thread of the window is enough."""
        from mbv2gui.core.training.weights_download import download_imagenet
        from mbv2gui.gui.train.train_form import mirror_url

        config = self.form.config()
        self.job_status.begin("download")
        self._job_project = self.context.project.path
        self._follow(self.context.jobs.start(download_imagenet, config.alpha, config.image_size,
                                             base_url=mirror_url(),
                                             name="downloading pretrained weights"),
                     self._on_weights_downloaded, self._on_download_cancelled,
                     "Downloading the pretrained weights (a few MB, once; they make a good model "
                     "from a few images per class)…")
        return True

    def _on_weights_downloaded(self, path) -> None:
        self._end_job()
        self.log.appendPlainText(f"Pretrained weights downloaded: {path}")
        self.form.set_config(self.form.config())  # the sentence now says where they came from
        self.start_training()

    def _on_download_cancelled(self) -> None:
        if self._end_job():
            self._set_result("The download was cancelled, so training did not start.", "warning")
        self.status.setText("")
        self._update_controls()

    def _offer_weights_actions(self, message: str, actions: tuple[str, ...]) -> None:
        """What to do when the pretrained weights cannot be had: try again, choose a file, or
        train from scratch, as buttons under the sentence."""
        choices = {"retry": ("Try Again", self.start_training),
                   "choose_file": ("Choose a File…", self.form.choose_weights_file),
                   "from_scratch": ("Train from Scratch", self._train_from_scratch)}
        buttons = [choices[action] for action in actions if action in choices]
        self.weights_notice.show_notice(message, buttons, level="warning")
        QTimer.singleShot(0, self._scroll_to_weights_notice)

    def _scroll_to_weights_notice(self) -> None:
        notice = self.weights_notice  # vertically only: the column never scrolls sideways
        half = notice.height() // 2
        self._controls_scroll.ensureVisible(0, notice.y() + half, 0, half + 20)

    def _train_from_scratch(self) -> None:
        self.form.set_values(weights="none")
        self.start_training()

    def stop_training(self) -> None:
        """Asks the training to stop; it keeps the best model trained so far."""
        if self.is_training():
            self._job.cancel()
            self.status.setText("Stopping the download…" if self.job_status.phase == "download" else
                                "Stopping… the best model so far is being saved.")
            self._update_controls()

    # ----------------------------------------------------------------- project and labels
    def _on_project_changed(self, project) -> None:
        if self.is_training():
            # The training goes on with the project it started on; stop it, and say nothing
            # about it in this project (its run, if any, is recorded in its own project).
            self._job.cancel()
        self.form.set_project(project)
        self._offer_earlier_runs()
        self.weights_notice.hide()
        self.plots.clear()
        self.log.clear()
        self._set_result("", "info")
        self.labels_notice.hide()
        self._labels_changed = False
        if not self.is_training():
            self.status.setText("")
            self.progress.setRange(0, 1000)
            self.progress.setValue(0)
        self.refresh_preflight()
        # The runs list reloaded before us (it listens first): show its selected run's curves.
        self._on_run_selected(self.runs.selected_run_id(),
                              self._history_of(self.runs.selected_run_id()))

    def _offer_earlier_runs(self) -> None:
        """The project's runs, as starting points in the form's "Start from"."""
        project = self._project_ok()
        self.form.set_runs(project.runs() if project is not None else [])

    def _on_labels_changed(self) -> None:
        if self.is_training() and not self._job.cancel_requested():
            self._labels_changed = True
        if self.isVisible():
            self._preflight_timer.start()
        else:  # e.g. a big import in the Label view: check once, when the person comes back
            self._preflight_stale = True

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._preflight_stale:
            self.refresh_preflight()

    def _project_ok(self):
        """The open project, or None if there is none or it was closed under us."""
        project = self.context.project
        if project is None:
            return None
        try:
            project.image_count()
        except sqlite3.Error:
            return None
        return project

    def refresh_preflight(self) -> None:
        self._preflight_timer.stop()
        self._preflight_stale = False
        project = self._project_ok()
        if project is None:
            self.problems = []
            self.data_summary.setText("Open or create a project to train a model on its images.")
        else:
            config = self.form.config()
            self.problems = check_training_data(project, val_split=config.val_split,
                                                from_scratch=trains_from_scratch(config),
                                                image_size=config.image_size,
                                                alpha=config.alpha)
            counts = project.class_counts()
            classes = project.classes()
            labeled = sum(counts.get(c.id, 0) for c in classes)
            # "“0”: 40 · “1”: 40": quoted, since class names are often bare numbers.
            per_class = " · ".join(f"“{c.name}”: {counts.get(c.id, 0)}" for c in classes)
            self.data_summary.setText(
                f"{len(classes)} class{'' if len(classes) == 1 else 'es'}, {labeled} labeled "
                f"image{'' if labeled == 1 else 's'}" + (f": {per_class}." if per_class else "."))
        while self.problems_layout.count():
            widget = self.problems_layout.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        for problem in self.problems:
            self.problems_layout.addWidget(ProblemRow(problem, self.show_problem_images))
        self.problems_box.setVisible(bool(self.problems))
        self._update_controls()

    def show_problem_images(self, problem: Problem) -> None:
        self.context.showImagesRequested.emit(list(problem.image_ids),
                                              problem.caption or problem.text)

    def problem_texts(self) -> list[str]:
        return [p.text for p in self.problems]

    # ----------------------------------------------------------------- controls
    def _on_start_stop(self) -> None:
        if self.is_training():
            self.stop_training()
        else:
            self.start_training()

    def _update_controls(self) -> None:
        training = self.is_training()
        has_project = self.context.project is not None
        blocked = any(p.blocking for p in self.problems)
        if training:
            stopping = self._job.cancel_requested()
            downloading = self.job_status.phase == "download"
            self.start_button.setText("Stopping…" if stopping else
                                      "Cancel Download" if downloading else "Stop")
            self.start_button.setEnabled(not stopping)
            self.start_button.setToolTip("Stop the download; nothing is kept." if downloading
                                         else "Stop now and keep the best model trained so far.")
        else:
            self.start_button.setText("Start Training")
            self.start_button.setEnabled(has_project and not blocked)
            self.start_button.setToolTip("Fix the problems listed above first." if blocked else
                                         "Train a model on the labeled images.")
        self.form.setEnabled(has_project and not training)
        self.progress.setVisible(training)
        self.status.setVisible(bool(self.status.text()))

    def _set_result(self, text: str, level: str) -> None:
        self.result.setText(text)
        color = colors.LEVEL_COLORS.get(level, "#1f2733")
        self.result.setStyleSheet(f"color: {color};")
        self.result.setVisible(bool(text))

    # ----------------------------------------------------------------- job end
    def _end_job(self) -> bool:
        """Clears the job; True when its result belongs to the project shown now."""
        ours = (self.context.project is not None
                and self.context.project.path == self._job_project)
        self._job = None
        self._job_project = None
        self.progress.setRange(0, 1000)
        self.plots.flush()
        return ours

    def _on_finished(self, run) -> None:
        ours = self._end_job()
        self.progress.setValue(1000)
        self.status.setText("")
        if not ours:
            self._update_controls()
            self.trainingEnded.emit("finished")
            return
        self._last_run_id = run.run_id
        text, level = run_result(run)
        self._set_result(text, level)
        self.log.appendPlainText(f"— {text} —")
        self.context.runsChanged.emit()
        self.context.set_current_run(run.run_id)
        self.runs.select_run(run.run_id)
        if self._labels_changed:
            self.labels_notice.show_notice(
                "You changed labels during training; this model does not know about them.",
                [("Retrain", self.start_training)], level="warning")
        self._labels_changed = False
        self._update_controls()
        self.refresh_preflight()
        self.trainingEnded.emit("finished")

    def _on_failed(self, message: str, detail: str) -> None:
        actions = self._job.failure_actions if self._job is not None else ()
        ours = self._end_job()
        self.progress.setValue(0)
        self.status.setText("")
        if ours and actions:
            self._offer_weights_actions(message, actions)
            self.log.appendPlainText(f"{message}\n{detail}".rstrip())
        elif ours:
            self._set_result(message, "error")
            self.plots.caption.setText("This training failed; the curves show how far it got.")
            self.log.appendPlainText(f"Error: {message}")
            if detail:
                self.log.appendPlainText(detail.rstrip())
        self._labels_changed = False
        self._update_controls()
        self.trainingEnded.emit("failed")

    def _on_cancelled(self) -> None:
        ours = self._end_job()
        self.progress.setValue(0)
        self.status.setText("")
        if ours:
            self._set_result("Training was stopped before its first epoch ended, so no model "
                             "was saved.", "warning")
            self.plots.caption.setText("Stopped before its first epoch ended; nothing saved.")
            self.log.appendPlainText("— Stopped before the first epoch ended; nothing saved. —")
        self._labels_changed = False
        self._update_controls()
        self.trainingEnded.emit("cancelled")

    # ----------------------------------------------------------------- past runs
    def _history_of(self, run_id: str):
        from mbv2gui.core.runs import load_history

        record = self.runs.record(run_id)
        return load_history(record.run_dir) if record else None

    def _on_run_selected(self, run_id: str, history) -> None:
        if self.is_training():
            return  # the live curves stay; the list still follows the selection
        if not run_id:
            self.plots.show_history(None, "No run selected." if self.runs.row_count() else
                                    "The curves of a training appear here while it runs.")
            return
        record = self.runs.record(run_id)
        caption = record_name(record) if record else "This run"
        if history is None:
            caption += " (its history file is missing)"
        self.plots.show_history(history, caption)
