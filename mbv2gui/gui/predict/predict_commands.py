"""The undoable "Add to project as <label>" of the Predict view.

A predicted image joins the project where it lies (never copied), labeled with the class the
person chose; a class of that name is made if the project has none. An image already in the
project (same file or same content) is relabeled instead of added twice. Undo takes back
exactly what was done: the new image and the new class, or the previous label.
"""

from __future__ import annotations

import os

from mbv2gui.core.errors import UserError
from mbv2gui.core.files.images import ImageError, content_hash, image_info
from mbv2gui.core.store.project import NewImage
from mbv2gui.gui.common.undo_commands import _Command, perform


def new_image(path: str, label: str) -> NewImage:
    """What the project needs to know about `path` (a sentence as UserError if unusable)."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise UserError(f"{path} cannot be added: the file is missing (it was moved or "
                        "deleted).", str(exc)) from exc
    try:
        digest = content_hash(path)
        size = image_info(path)
    except ImageError as exc:
        raise UserError(f"{exc.message} It was not added to the project.", exc.detail) from exc
    return NewImage(os.path.abspath(path), info.st_size, info.st_mtime, digest, size.width,
                    size.height, "ok", None, label)


def existing_image_id(project, path: str, digest: str | None) -> int | None:
    """The id of the project's image with this content (or, without a hash, this path)."""
    if digest:
        found = project.find_by_hash(digest)
        if found is not None:
            return found
    wanted = os.path.abspath(path)
    return next((r.id for r in project.images() if r.path == wanted), None)


class AddPredictedImage(_Command):
    """Adds the image at `path` to the project with class `label` (or relabels it if the
    project has it already). A problem with the file raises UserError from the first run, so
    push it with `add_predicted_image()` (below)."""

    def __init__(self, context, path: str, label: str):
        super().__init__(context, f"Add {os.path.basename(path)} as “{label.strip()}”")
        self.path = str(path)
        self.label = label.strip()
        self.image_id: int | None = None
        self.records = []  # the added image's row, to put the same one back on redo
        self.created_class = None  # ClassInfo when the command made the class
        self.previous_class: dict | None = None  # when it relabeled an existing image
        self._done_once = False

    def do(self) -> None:
        if self._done_once:
            self._redo_again()
        else:
            self._first()
            self._done_once = True
        self._announce()

    def _first(self) -> None:
        project = self.project
        if not self.label:
            raise UserError("Choose a class name for the image first.")
        image = new_image(self.path, self.label)
        if project.class_by_name(self.label) is None:
            self.created_class = project.add_class(self.label)
        target = project.class_by_name(self.label).id
        found = existing_image_id(project, self.path, image.content_hash)
        if found is not None:
            self.image_id = found
            self.previous_class = project.set_labels({found: target})
        else:
            ids, _duplicates = project.add_images([image])
            self.image_id = ids[0]
            self.records = project.images(ids)

    def _redo_again(self) -> None:
        project = self.project
        info = self.created_class
        if info is not None:
            project.add_class(info.name, info.color, info.id, info.position)
        if self.previous_class is not None:
            project.set_labels({self.image_id: project.class_by_name(self.label).id})
        else:
            project.restore_images(self.records)

    def undo(self) -> None:
        project = self.project
        if self.previous_class is not None:
            project.set_labels(self.previous_class)
        else:
            project.remove_images([self.image_id])
        if self.created_class is not None:
            project.delete_class(self.created_class.id)  # empty again: its one image is gone
        self._announce()

    def _announce(self) -> None:
        if self.created_class is not None:
            self.context.classesChanged.emit()
        self.context.imagesChanged.emit([self.image_id])


def add_predicted_image(context, path: str, label: str) -> AddPredictedImage:
    """Runs the command now (raising UserError with a sentence if the file cannot be added),
    then puts it on the undo stack without running it twice."""
    command = AddPredictedImage(context, path, label)
    perform(context, command)
    return command
