"""Getting images in: drops anywhere on the window, File → Import, the import job with its
progress and Cancel, images appearing as batches land, the summary, and undo."""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPen, QUndoCommand
from PySide6.QtWidgets import QWidget

from mbv2gui.gui.shell.context import AppContext
from mbv2gui.gui.common.notice_bar import NoticeBar
from mbv2gui.core.store.queries import image_ids_with_status
from mbv2gui.gui.shell.status_bar import StatusBar


def dropped_paths(mime) -> list[str]:
    """The local files and folders a drag carries (nothing for text, web links, ...)."""
    if mime is None or not mime.hasUrls():
        return []
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile() and url.toLocalFile()]


class ImportCommand(QUndoCommand):
    """Undo removes what an import added (from the project, never from disk), and the classes
    it created once they are empty; redo puts back exactly the same rows."""

    def __init__(self, context: AppContext, ids: list[int], class_ids: list[int], text: str):
        super().__init__(text)
        self._context = context
        self._ids = list(ids)
        self._class_ids = list(class_ids)
        self._records = []
        self._classes = []
        self._done = True  # pushed after the import ran: the first redo() has nothing to do

    def undo(self) -> None:
        project = self._context.project
        self._records = project.remove_images(self._ids)
        counts = project.class_counts()
        self._classes = [c for c in project.classes()
                         if c.id in self._class_ids and not counts.get(c.id)]
        for info in self._classes:
            project.delete_class(info.id)
        self._done = False
        self._announce()

    def redo(self) -> None:
        if self._done:
            return
        project = self._context.project
        # Put the classes back; if the person meanwhile made a class of the same name (or a new
        # class took the old id), the images join that one rather than failing.
        taken = {c.id for c in project.classes()}
        new_id = {}
        for info in self._classes:
            same = project.add_class(info.name, info.color, position=info.position,
                                     class_id=None if info.id in taken else info.id,
                                     existing_ok=True)
            new_id[info.id] = same.id
        project.restore_images([replace(r, class_id=new_id.get(r.class_id, r.class_id))
                                for r in self._records])
        self._done = True
        self._announce()

    def _announce(self) -> None:
        if self._classes:
            self._context.classesChanged.emit()
        self._context.imagesChanged.emit([])  # many rows came or went: views reload


class ImportFlow(QObject):
    """Runs one import at a time; imports asked for meanwhile wait their turn."""

    def __init__(self, context: AppContext, status_bar: StatusBar, notices: NoticeBar,
                 ensure_project: Callable[[list[str]], bool], parent: QObject | None = None):
        super().__init__(parent)
        self._context = context
        self._status = status_bar
        self._notices = notices
        # Asks (or decides) where a project for these paths goes when none is open.
        self._ensure_project = ensure_project
        self._job = None
        self._pending: list[tuple[str, object]] = []
        self._added: list[int] = []
        self._classes_before: set[int] = set()
        self._project_path = ""
        context.projectChanged.connect(self._on_project_changed)

    def _on_project_changed(self, _project) -> None:
        # An import belongs to the project it started in; closing that project stops it (what
        # it added so far stays in that project, which is saved as it goes).
        if self._job is not None and not self._still_same_project():
            self.cancel()

    def is_running(self) -> bool:
        return self._job is not None

    def import_paths(self, paths: list[str]) -> None:
        paths = [p for p in paths if p]
        if not paths or (self._context.project is None and not self._ensure_project(paths)):
            return
        self._enqueue("paths", paths)

    def import_csv(self, csv_path: str) -> None:
        if self._context.project is not None:
            self._enqueue("csv", csv_path)

    def _enqueue(self, kind: str, what) -> None:
        self._pending.append((kind, what))
        if self._job is None:
            self._start_next()
        else:
            self._status.showMessage("The images will be imported when the current import ends.", 5000)

    def _start_next(self) -> None:
        project = self._context.project
        if not self._pending or project is None:
            self._pending.clear()
            return
        kind, what = self._pending.pop(0)
        # Imported lazily: the importer pulls in hashing and Pillow, not needed to show a window.
        from mbv2gui.core.files import importer

        self._added = []
        self._classes_before = {c.id for c in project.classes()}
        self._project_path = str(project.path)
        fn = importer.import_csv if kind == "csv" else importer.import_paths
        self._job = self._context.jobs.start(fn, self._project_path, what, name="importing images")
        self._job.event.connect(self._on_event)
        self._job.finished.connect(self._on_finished)
        self._job.cancelled.connect(lambda: self._on_ended(None, "The import was cancelled."))
        self._job.failed.connect(lambda message, detail: self._on_ended(None, message, detail))
        self._status.jobs.track(self._job, "Importing images")

    def cancel(self) -> None:
        self._pending.clear()
        if self._job is not None:
            self._job.cancel()

    def _on_event(self, event: dict) -> None:
        if event.get("type") == "images_added" and self._still_same_project():
            ids = list(event.get("ids") or [])
            self._added.extend(ids)
            self._context.imagesChanged.emit(ids)

    def _on_finished(self, summary) -> None:
        self._on_ended(summary, summary.sentence(), summary.details())

    def _on_ended(self, summary, sentence: str, detail: str = "") -> None:
        self._job = None
        actions, undo = [], None
        if self._still_same_project() and self._added:
            undo = (self._context.undo_stack, self._push_undo())
            if summary is None:
                sentence += f" The {len(self._added):,} images added before it stopped were kept."
        if summary is not None and getattr(summary, "unreadable", None):
            actions.append(("Show unreadable", self._show_unreadable))
        level = "error" if summary is None and detail else "info"
        self._status.showMessage(sentence, 10_000)
        self._notices.show_notice(sentence, actions, level=level, detail=detail, undo=undo)
        self._start_next()

    def _push_undo(self) -> "ImportCommand":
        project = self._context.project
        created = [c.id for c in project.classes() if c.id not in self._classes_before]
        count = len(self._added)
        text = f"Import {count:,} image{'' if count == 1 else 's'}"
        command = ImportCommand(self._context, self._added, created, text)
        self._context.undo_stack.push(command)
        return command

    def _show_unreadable(self) -> None:
        ids = list(self._added)
        job = self._context.jobs.start(image_ids_with_status, self._project_path,
                                       ["unreadable"], ids, name="finding the unreadable images")
        job.ask_before_quit = False
        job.finished.connect(
            lambda found: self._context.showImagesRequested.emit(found, "Unreadable images"))

    def _still_same_project(self) -> bool:
        project = self._context.project
        return project is not None and str(project.path) == self._project_path


class DropOverlay(QWidget):
    """A soft veil over the window while files are dragged over it: “Drop to import”."""

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.text = "Drop images or folders to import them"
        self.hide()

    def show_over_parent(self, text: str) -> None:
        self.text = text
        self.setGeometry(self.parentWidget().rect())
        self.raise_()
        self.show()

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor(246, 248, 252, 225))
        pen = QPen(QColor("#3d7be0"), 3, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.drawRoundedRect(self.rect().adjusted(16, 16, -16, -16), 18, 18)
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        painter.setFont(font)
        painter.setPen(QColor("#24416b"))
        painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.text)


class DropFilter(QObject):
    """Takes drags of files and folders from other applications anywhere on the window.

    Installed on the window's QWindow, it sees a drag before Qt picks a child widget, so the
    gallery or a text field under the cursor cannot swallow it. Drags that start inside the app
    (a thumbnail dragged onto a class) have a `source()` and are left to the widgets."""

    def __init__(self, overlay: DropOverlay, on_drop: Callable[[list[str]], None],
                 caption: Callable[[], str], parent: QObject | None = None):
        """`caption()` says what a drop will do right now (import, make a project, predict)."""
        super().__init__(parent)
        self._overlay = overlay
        self._on_drop = on_drop
        self._caption = caption

    def eventFilter(self, watched, event) -> bool:
        kind = event.type()
        if kind == QEvent.Type.DragLeave:
            self._overlay.hide()
            return False
        if kind not in (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop):
            return False
        if event.source() is not None:
            return False
        paths = dropped_paths(event.mimeData())
        if not paths:
            return False
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        if kind == QEvent.Type.DragEnter:
            self._overlay.show_over_parent(self._caption())
        elif kind == QEvent.Type.Drop:
            self._overlay.hide()
            # Not inside the drop itself: the drag source waits for it to return, and the
            # import may first ask a question (a nested event loop) when no project is open.
            QTimer.singleShot(0, lambda: self._on_drop(paths))
        return True
