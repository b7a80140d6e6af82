"""The main window: the welcome page or the project workspace (Label / Train / Evaluate /
Predict in a sidebar), menus, status bar, notices, and drops of images anywhere on it.

It owns the AppContext and the one JobRunner (`context.jobs`). Views plug in by module: each
`mbv2gui/gui/<name>_view.py` defines `<Name>View(context)`; a missing module shows a friendly
placeholder. Train, Evaluate and Predict are built the first time they are shown (they may
import TensorFlow, which must not delay the window), so their constructors must show
`context.project` as it is; the Label view is built with the window.
"""

from __future__ import annotations

import importlib
import logging
import os
import traceback

from PySide6.QtCore import QByteArray, QItemSelectionModel, Qt, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QListWidget, QMainWindow,
                               QMessageBox, QStackedWidget, QVBoxLayout, QWidget)

from mbv2gui.core.files.images import IMAGE_EXTENSIONS
from mbv2gui.gui.train.auto_retrain import AutoRetrainer
from mbv2gui.gui.shell.context import AppContext
from mbv2gui.gui.common.file_dialogs import choose_image_files
from mbv2gui.gui.shell.import_flow import DropFilter, DropOverlay, ImportFlow
from mbv2gui.gui.shell.jobrunner import JobRunner
from mbv2gui.gui.shell.menus import Menus
from mbv2gui.gui.common.notice_bar import NoticeBar
from mbv2gui.gui.shell.project_flow import ProjectFlow
from mbv2gui.gui.shell.settings import settings
from mbv2gui.gui.shell.status_bar import StatusBar
from mbv2gui.gui.shell.welcome_page import WelcomePage

log = logging.getLogger(__name__)

# (sidebar name, module, class): each view is imported when first shown.
VIEWS = (
    ("Label", "mbv2gui.gui.label.label_view", "LabelView"),
    ("Train", "mbv2gui.gui.train.train_view", "TrainView"),
    ("Evaluate", "mbv2gui.gui.evaluate.evaluate_view", "EvaluateView"),
    ("Predict", "mbv2gui.gui.predict.predict_view", "PredictView"),
)
PLACEHOLDER = "placeholderPage"  # the object name of the page shown when a view fails
WELCOME, WORKSPACE = 0, 1
LABEL, TRAIN, EVALUATE, PREDICT = range(len(VIEWS))


def placeholder(title: str, text: str) -> QWidget:
    page = QWidget()
    page.setObjectName(PLACEHOLDER)
    heading = QLabel(title)
    heading.setObjectName("placeholderTitle")
    body = QLabel(text)
    body.setWordWrap(True)
    body.setObjectName("placeholderText")
    layout = QVBoxLayout(page)
    layout.addStretch(1)
    for label in (heading, body):
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(label)
    layout.addStretch(2)
    return page


def load_view(index: int, context: AppContext) -> QWidget:
    """Builds view `index`, or a page saying it could not be built (the error is logged)."""
    name, module_name, class_name = VIEWS[index]
    try:
        module = importlib.import_module(module_name)
        return getattr(module, class_name)(context)
    except Exception:  # noqa: BLE001 - one broken view must not take the window down
        log.exception("The %s view could not be built", name)
        page = placeholder(name, f"The {name} view could not be opened because of an error. "
                                 "The rest of mbv2gui works; the error is in the log file.")
        page.setToolTip(traceback.format_exc())
        return page


class MainWindow(QMainWindow):
    VIEW_NAMES = tuple(view[0] for view in VIEWS)

    def __init__(self, icon: QIcon | None = None):
        super().__init__()
        self.context = AppContext(self)
        self.runner = JobRunner(self)
        self.context.jobs = self.runner
        # Here, not in the Train view (built only when first shown): a project that has
        # "retrain as you label" on retrains from the moment it opens.
        self.context.retrainer = AutoRetrainer(self.context)
        self._closing = False
        self._views: list[QWidget | None] = [None] * len(VIEWS)
        self.setWindowTitle("mbv2gui")
        self.setAcceptDrops(True)  # some platforms offer drops only to windows that say so

        self.notices = NoticeBar()
        self.status = StatusBar(self.context)
        self.setStatusBar(self.status)
        self.projects = ProjectFlow(self, self.context, self.status, self.notices)
        self.imports = ImportFlow(self.context, self.status, self.notices,
                                  self.projects.ensure_project_for, self)

        self.welcome = WelcomePage(icon)
        self.welcome.newRequested.connect(self.projects.new_project_dialog)
        self.welcome.openRequested.connect(self.projects.open_project_dialog)
        self.welcome.openPathRequested.connect(self.open_path)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.welcome)
        self.pages.addWidget(self._build_workspace())

        central = QWidget()
        central.setObjectName("central")
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.notices)
        layout.addWidget(self.pages, 1)
        self.setCentralWidget(central)
        self.overlay = DropOverlay(central)
        self._drop_filter = DropFilter(self.overlay, self.drop_paths, self.drop_caption, self)

        self.menus = Menus(self)
        self.context.projectChanged.connect(self._on_project_changed)
        self.context.showImagesRequested.connect(lambda _ids, _caption: self.show_view(LABEL))
        self.context.retrainRequested.connect(self.retrain)
        self._ensure_view(LABEL)  # the Label view listens from the start
        self._on_project_changed(None)
        self._restore_state()

    # ----------------------------------------------------------------- layout and views
    def _build_workspace(self) -> QWidget:
        self.navigation = QListWidget()
        self.navigation.setObjectName("navigation")
        self.navigation.addItems(self.VIEW_NAMES)
        self.navigation.setFixedWidth(132)
        self.navigation.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view_stack = QStackedWidget()
        for _ in VIEWS:
            holder = QWidget()
            QVBoxLayout(holder).setContentsMargins(0, 0, 0, 0)
            self.view_stack.addWidget(holder)
        self.navigation.currentRowChanged.connect(self._on_navigation)
        workspace = QWidget()
        row = QHBoxLayout(workspace)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.navigation)
        row.addWidget(self.view_stack, 1)
        return workspace

    def show_view(self, index: int) -> None:
        if self.context.project is not None:
            self.navigation.setCurrentRow(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)

    def current_view(self) -> QWidget | None:
        return self._views[self.navigation.currentRow()]

    def view(self, index: int) -> QWidget | None:
        return self._views[index]

    def _on_navigation(self, index: int) -> None:
        if index < 0:
            return
        self.view_stack.setCurrentIndex(index)
        if self._views[index] is None:
            # Say something at once, then build (the view's imports may take a moment).
            self.status.showMessage(f"Opening {VIEWS[index][0]}…")
            QTimer.singleShot(0, lambda: self._ensure_view(index))

    def _ensure_view(self, index: int) -> QWidget:
        if self._views[index] is None:
            view = load_view(index, self.context)
            self._views[index] = view
            self.view_stack.widget(index).layout().addWidget(view)
            self.status.clearMessage()
        return self._views[index]

    @staticmethod
    def _working(view: QWidget | None) -> bool:
        """Whether a view was built (not yet shown: None; failed: the page that says why)."""
        return view is not None and view.objectName() != PLACEHOLDER

    # ----------------------------------------------------------------- projects
    def open_path(self, path: str) -> None:
        """What `mbv2gui PATH` and the recent lists do: open a project, or, for a folder or
        image files, import them (making a project for them if none is open)."""
        project = self.context.project
        if project is not None and os.path.abspath(path) == str(project.path):
            return
        if os.path.isdir(path) or os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS:
            self.imports.import_paths([path])
        else:
            self.projects.open_project(path)

    def _on_project_changed(self, project) -> None:
        is_open = project is not None
        self.menus.set_project_open(is_open)
        self.pages.setCurrentIndex(WORKSPACE if is_open else WELCOME)
        if is_open:
            read_only = " — read-only" if getattr(project, "read_only", False) else ""
            self.setWindowTitle(f"{project.name}{read_only} — mbv2gui")
            self.setWindowFilePath(str(project.path))
            # Qt may make a row current without selecting it; select it so the sidebar shows it.
            row = max(0, self.navigation.currentRow())
            self.navigation.setCurrentRow(row, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        else:
            self.setWindowTitle("mbv2gui")
            self.setWindowFilePath("")
            self.welcome.refresh()

    # ----------------------------------------------------------------- import dialogs
    def import_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import a Folder of Images")
        if folder:
            self.imports.import_paths([folder])

    def import_files_dialog(self) -> None:
        files = choose_image_files(self, "Import Images")
        if files:
            self.imports.import_paths(files)

    def import_csv_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import a CSV of Images and Labels", "", "CSV files (*.csv);;All files (*)")
        if path:
            self.imports.import_csv(path)

    # ----------------------------------------------------------------- predicting, retraining
    def predicting_drops(self) -> bool:
        """Whether a drop now means "predict these" (the Predict view is showing) rather
        than "import these"."""
        return (self.context.project is not None and self.navigation.currentRow() == PREDICT
                and self._working(self._views[PREDICT]))

    def drop_paths(self, paths: list[str]) -> None:
        if self.predicting_drops():
            self._views[PREDICT].predict_paths(paths)
        else:
            self.imports.import_paths(paths)

    def drop_caption(self) -> str:
        if self.predicting_drops():
            return "Drop to see what the model thinks these images are"
        if self.context.project is not None:
            return "Drop to import these images"
        return "Drop to make a project of these images"

    def predict_files_dialog(self) -> None:
        """File → Predict…: images chosen here go to the Predict view, not into the project."""
        files = choose_image_files(self, "Predict Images")
        if files:
            self.predict_paths(files)

    def predict_view(self):
        return self._ensure_view(PREDICT)

    def predict_paths(self, paths: list[str]) -> None:
        self.show_view(PREDICT)
        view = self._ensure_view(PREDICT)
        if self._working(view):
            view.predict_paths(paths)

    def retrain(self) -> None:
        """Shows the Train view and starts a training on the current labels (unless one runs)."""
        self.show_view(TRAIN)
        view = self._ensure_view(TRAIN)
        if self._working(view) and not view.is_training():
            view.start_training()

    # ----------------------------------------------------------------- drops, state, closing
    def showEvent(self, event) -> None:
        super().showEvent(event)
        handle = self.windowHandle()
        if handle is not None and not getattr(self, "_drop_filter_installed", False):
            handle.installEventFilter(self._drop_filter)
            self._drop_filter_installed = True

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.overlay.isVisible():
            self.overlay.setGeometry(self.centralWidget().rect())

    def confirm(self, title: str, text: str, yes: str) -> bool:
        """A yes/no question (a separate method so that tests can answer it)."""
        box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=self)
        ok = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Cancel", QMessageBox.ButtonRole.RejectRole)
        box.exec()
        return box.clickedButton() is ok

    def closeEvent(self, event) -> None:
        jobs = [job for job in self.runner.running_jobs() if job.ask_before_quit]
        if jobs and not self._closing:
            what = " and ".join(job.name or "working" for job in jobs)
            if not self.confirm("Quit mbv2gui?", f"mbv2gui is still {what}. Stop and quit?",
                                "Stop and Quit"):
                event.ignore()
                return
            # Let the jobs end on their own (they stop within a second) while the window
            # stays responsive, then close for real; a stubborn job is waited for at exit.
            self._closing = True
            self.imports.cancel()
            self.runner.cancel_all()
            self.status.showMessage("Stopping…")
            self.runner.busyChanged.connect(lambda count: count == 0 and self.close())
            deadline = QTimer(self)  # a child: it cannot fire on a window already gone
            deadline.setSingleShot(True)
            deadline.timeout.connect(self.close)
            deadline.start(5000)
            event.ignore()
            return
        self._save_state()
        self.runner.shutdown(5.0)
        self.context.set_project(None)
        event.accept()

    def _restore_state(self) -> None:
        store = settings()
        geometry = store.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1180, 760)
        state = store.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)

    def _save_state(self) -> None:
        store = settings()
        store.setValue("window/geometry", self.saveGeometry())
        store.setValue("window/state", self.saveState())
