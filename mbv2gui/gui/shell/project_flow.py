"""Opening, creating and closing projects; making one for images dropped on an empty window;
checking on open that every image is still where it was, and relinking a moved folder."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from mbv2gui.core.errors import UserError
from mbv2gui.core.files.filecheck import find_relink, relink_and_check
from mbv2gui.core.store.project import PROJECT_SUFFIX, Project
from mbv2gui.core.runs import sweep_project_runs
from mbv2gui.core.store.errors import ProjectDamaged, read_only_notice
from mbv2gui.gui.shell.context import AppContext
from mbv2gui.gui.common.notice_bar import NoticeBar
from mbv2gui.gui.shell.settings import remember_project
from mbv2gui.gui.shell.status_bar import StatusBar

PROJECT_FILTER = f"mbv2gui projects (*{PROJECT_SUFFIX})"


def suggested_project_path(paths: list[str]) -> Path:
    """Where a project for dropped images goes: next to the folder that holds them, named after
    it (a dropped folder “pets” gives pets.mbv2 beside it; loose files or several folders give
    a project named after the folder they share)."""
    items = [Path(os.path.abspath(p)) for p in paths]
    if len(items) == 1 and items[0].is_dir():
        folder = items[0]
    else:
        folder = Path(os.path.commonpath([str(p.parent) for p in items]))
    return folder.parent / f"{folder.name or 'Images'}{PROJECT_SUFFIX}"


def _ids(value) -> list[int]:
    return list(value) if isinstance(value, (list, tuple, set)) else []


def _count(value) -> int:
    return value if isinstance(value, int) else len(_ids(value))


def describe_check(result: dict) -> str:
    """“3 images are missing and 1 changed on disk since the project was last open.”"""
    missing, changed = _count(result.get("missing")), _count(result.get("changed"))
    parts = []
    if missing:
        parts.append(f"{missing:,} image{' is' if missing == 1 else 's are'} missing")
    if changed:
        parts.append(f"{changed:,} changed on disk")
    if not parts:
        return ""
    return " and ".join(parts) + " since the project was last open."


class ProjectFlow(QObject):
    def __init__(self, window: QWidget, context: AppContext, status_bar: StatusBar,
                 notices: NoticeBar):
        super().__init__(window)
        self._window = window
        self._context = context
        self._status = status_bar
        self._notices = notices
        self._check = None

    # ----------------------------------------------------------------- open / create / close
    def open_project(self, path: str, quiet: bool = False) -> bool:
        """Opens a project file; says in words why not if it cannot (a notice when `quiet`,
        as when reopening the last project at start-up)."""
        try:
            project = Project.open(path)
        except ProjectDamaged as exc:
            if exc.recoverable:
                self._offer_recovery(exc, quiet)
            else:
                self._complain("The project could not be opened.", exc, quiet)
            return False
        except UserError as exc:
            self._complain("The project could not be opened.", exc, quiet)
            return False
        self._adopt(project)
        if project.read_only:  # the check records what it finds: it cannot here
            self._notices.show_notice(read_only_notice(project.path, project.read_only_reason),
                                      level="warning")
        else:
            sweep_project_runs(project.path)  # what a killed training left
            self.check_files()
        return True

    # ----------------------------------------------------------------- a damaged project
    RECOVER = "Make a Recovered Copy"

    def _offer_recovery(self, exc: ProjectDamaged, quiet: bool) -> None:
        """Says what is damaged and offers a recovered copy beside it (the original is never
        changed); a notice at start-up, a dialog otherwise."""
        path = str(exc.path)
        if quiet:
            self._notices.show_notice(exc.message, [(self.RECOVER, lambda: self.recover(path))],
                                      level="warning", detail=exc.detail)
            return
        box = QMessageBox(QMessageBox.Icon.Warning, "mbv2gui", exc.message, parent=self._window)
        box.setInformativeText("The recovered copy holds every image, label and run that can "
                               "still be read. The damaged file is left as it is.")
        box.setDetailedText(exc.detail)
        recover = box.addButton(self.RECOVER, QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Cancel", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(recover)
        box.exec()
        if box.clickedButton() is recover:
            self.recover(path)

    def recover(self, path: str):
        """Makes the recovered copy in the engine process, then opens it. Returns the job.

        Recovery reads the damaged file's bytes itself; closing such a descriptor in a process
        where SQLite also has the file open drops SQLite's locks there (core/store/check.py).
        So the window lets go of the project first, and the copy is read in another process."""
        from mbv2gui.core.store.recovery import recover_project

        if self._context.project is not None and Path(self._context.project.path) == Path(path):
            self.close_project()
        job = self._context.jobs.start_in_engine(recover_project, path,
                                                 name="making a recovered copy")
        job.finished.connect(self._on_recovered)
        job.failed.connect(lambda message, detail: self._notices.show_notice(
            message, level="warning", detail=detail))
        self._status.jobs.track(job, "Making a recovered copy")
        return job

    def _on_recovered(self, result) -> None:
        if self.open_project(result.path):
            self._notices.show_notice(result.summary(), level="info")

    def create_project(self, path: str) -> bool:
        try:
            project = Project.create(path)
        except (UserError, OSError) as exc:
            self._complain("The project could not be created.", exc)
            return False
        self._adopt(project)
        return True

    def close_project(self) -> None:
        if self._check is not None:
            self._check.cancel()
        self._context.set_project(None)

    def new_project_dialog(self) -> None:
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        path, _ = QFileDialog.getSaveFileName(self._window, "New Project",
                                              os.path.join(folder, f"Untitled{PROJECT_SUFFIX}"),
                                              PROJECT_FILTER)
        if path:
            self.create_project(path)

    def open_project_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self._window, "Open Project", "", PROJECT_FILTER)
        if path:
            self.open_project(path)

    def ensure_project_for(self, paths: list[str]) -> bool:
        """Images arrived with no project open: make one (asking where), or open the one that
        already sits next to them. True when a project is open afterwards."""
        target = self.choose_project_location(paths)
        if target is None:
            return False
        if target.exists():
            return self.open_project(str(target))
        return self.create_project(str(target))

    def choose_project_location(self, paths: list[str]) -> Path | None:
        suggested = suggested_project_path(paths)
        writable = os.access(suggested.parent, os.W_OK)
        if writable:
            box = QMessageBox(QMessageBox.Icon.Question, "New Project", "", parent=self._window)
            if suggested.exists():
                box.setText(f"Add these images to the project {suggested.name}?")
                box.setInformativeText(f"It is already in {suggested.parent}.")
                go = box.addButton("Add to Project", QMessageBox.ButtonRole.AcceptRole)
            else:
                box.setText(f"Make a project called “{suggested.stem}” for these images?")
                box.setInformativeText(
                    f"It will be saved in {suggested.parent}. Your images stay where they are; "
                    "the project only points to them.")
                go = box.addButton("Create Project", QMessageBox.ButtonRole.AcceptRole)
            elsewhere = box.addButton("Choose Location…", QMessageBox.ButtonRole.ActionRole)
            box.addButton("Cancel", QMessageBox.ButtonRole.RejectRole)
            box.setDefaultButton(go)
            box.exec()
            if box.clickedButton() is go:
                return suggested
            if box.clickedButton() is not elsewhere:
                return None
        start = suggested if writable else Path(QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.DocumentsLocation)) / suggested.name
        path, _ = QFileDialog.getSaveFileName(self._window, "Save the New Project As", str(start),
                                              PROJECT_FILTER)
        return Path(path) if path else None

    def _adopt(self, project: Project) -> None:
        self._notices.hide()
        self._context.set_project(project)
        remember_project(str(project.path))

    def _complain(self, what: str, exc: Exception, quiet: bool = False) -> None:
        message = exc.message if isinstance(exc, UserError) else f"{what} ({exc.strerror or exc})"
        detail = exc.detail if isinstance(exc, UserError) else str(exc)
        if quiet:
            self._notices.show_notice(message, level="warning", detail=detail)
            return
        box = QMessageBox(QMessageBox.Icon.Warning, "mbv2gui", message, parent=self._window)
        if detail:
            box.setDetailedText(detail)
        box.exec()

    # ----------------------------------------------------------------- missing / changed files
    def check_files(self) -> None:
        project = self._context.project
        if project is None or self._context.jobs is None:
            return
        from mbv2gui.core.files.filecheck import check_files

        self._start_check(check_files, str(project.path))

    def _start_check(self, fn, *args) -> None:
        if self._check is not None:
            self._check.cancel()
        self._checked_path = args[0]
        self._check = self._context.jobs.start(fn, *args, name="checking the image files")
        self._check.ask_before_quit = False
        self._check.finished.connect(self._on_checked)
        self._check.failed.connect(
            lambda message, detail: self._notices.show_notice(message, level="warning",
                                                              detail=detail))
        self._status.jobs.track(self._check, "Checking the image files")

    def _on_checked(self, result) -> None:
        self._check = None
        project = self._context.project
        if project is None or str(project.path) != self._checked_path:
            return  # the person opened another project meanwhile
        relinked = None
        if isinstance(result, tuple):  # from relink_and_check
            relinked, result = result
        self._context.imagesChanged.emit([])  # statuses may have changed
        self._last_check = result if isinstance(result, dict) else {}
        sentence = describe_check(self._last_check)
        if relinked is not None:
            found = f"{relinked:,} image{'' if relinked == 1 else 's'} relinked."
            sentence = f"{found} Still: {sentence[0].lower()}{sentence[1:]}" if sentence \
                else f"{found} Every image is where it should be."
        if not sentence:
            return
        actions = []
        missing = _ids(self._last_check.get("missing"))
        if missing:
            actions.append(("Relink Folder…", self.relink_dialog))
        problem = missing + _ids(self._last_check.get("changed"))
        if problem:
            actions.append(("Show", lambda: self._context.showImagesRequested.emit(
                problem, "Missing or changed images")))
        self._notices.show_notice(sentence, actions, level="warning" if actions else "info")

    def relink_dialog(self) -> None:
        project = self._context.project
        missing = _ids(getattr(self, "_last_check", {}).get("missing"))
        record = project.image(missing[0]) if project is not None and missing else None
        if record is None:
            return
        folder = QFileDialog.getExistingDirectory(
            self._window, f"Where is the folder that held {Path(record.path).name} now?")
        if folder:
            self.relink_to(record.path, folder)

    def relink_to(self, missing_path: str, folder: str) -> bool:
        pair = find_relink(missing_path, folder)
        if pair is None:
            self._notices.show_notice(
                f"{Path(missing_path).name} is not in {folder} or its subfolders; choose the "
                "folder the missing images were moved to.", [("Relink Folder…", self.relink_dialog)],
                level="warning")
            return False
        self._start_check(relink_and_check, str(self._context.project.path), *pair)
        return True
