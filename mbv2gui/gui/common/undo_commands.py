"""Undoable edits: each command calls one core operation (one committed transaction) and tells
the views through the context's signals. The store returns what it replaced (previous labels,
moved image ids, removed records), so undo restores exactly that, not a guess.

Push commands onto `context.undo_stack` (QUndoStack calls `redo()` on push). For a command whose
first run may fail with a UserError (a duplicate class name) use `perform(context, command)`:
it runs the command before pushing it, so a failure never leaves a broken command on the stack.
"""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand

from mbv2gui.core.words import plural


class _Command(QUndoCommand):
    def __init__(self, context, text: str):
        super().__init__(text)
        self.context = context
        self._skip_redo = False  # set by perform(): the first redo already ran

    @property
    def project(self):
        return self.context.project

    def redo(self) -> None:
        if self._skip_redo:
            self._skip_redo = False
            return
        self.do()

    def do(self) -> None:
        raise NotImplementedError

    def image_ids(self) -> list[int]:
        """The images this command changes: after an undo the Label view selects them again,
        so the person is back on the image whose label they took back."""
        return []


def perform(context, command: _Command) -> None:
    """Runs `command` now (raising its UserError, if any), then puts it on the undo stack."""
    command.do()
    command._skip_redo = True
    context.undo_stack.push(command)


class _ImageValues(_Command):
    """Sets one per-image value (label, split, "excluded") for many images in one transaction.
    The store returns the previous values, which is all undo needs."""

    setter = ""  # the Project method: takes {id: value}, returns the previous {id: value}
    verb = ""

    def __init__(self, context, values: dict, text: str = ""):
        super().__init__(context, text or f"{self.verb} {plural(len(values), 'image')}")
        self.values = dict(values)
        self.previous: dict = {}

    def do(self) -> None:
        self.previous = getattr(self.project, self.setter)(self.values)
        self.context.imagesChanged.emit(list(self.values))

    def undo(self) -> None:
        getattr(self.project, self.setter)(self.previous)
        self.context.imagesChanged.emit(list(self.previous))

    def image_ids(self) -> list[int]:
        return list(self.values)


class SetLabels(_ImageValues):
    """`labels`: {image id: class id, or None for unlabeled}. Shared by every view."""

    setter, verb = "set_labels", "Label"


class SetSplits(_ImageValues):
    """`values`: {image id: 'auto' | 'train' | 'validation' | 'test'}."""

    setter, verb = "set_splits", "Set the split of"


class SetExcluded(_ImageValues):
    """`values`: {image id: True to keep the image out of training}."""

    setter, verb = "set_excluded", "Exclude"


class RemoveImages(_Command):
    """Removes images from the project (never from disk); undo puts back the same rows."""

    def __init__(self, context, ids: list[int], text: str = ""):
        super().__init__(context, text or f"Remove {plural(len(ids), 'image')}")
        self.ids = list(ids)
        self.records = []

    def do(self) -> None:
        self.records = self.project.remove_images(self.ids)
        self.context.imagesChanged.emit(list(self.ids))

    def undo(self) -> None:
        self.project.restore_images(self.records)
        self.context.imagesChanged.emit(list(self.ids))

    def image_ids(self) -> list[int]:
        return list(self.ids)


class _ClassCommand(_Command):
    def _info(self, class_id: int):
        return next(c for c in self.project.classes() if c.id == class_id)


class AddClass(_ClassCommand):
    def __init__(self, context, name: str, color: str | None = None):
        super().__init__(context, f"Add class “{name.strip()}”")
        self.name, self.color = name, color
        self.info = None

    def do(self) -> None:
        info = self.info  # on redo: the same id, color and place as the first time
        self.info = self.project.add_class(
            self.name, info.color if info else self.color, info.id if info else None,
            info.position if info else None)
        self.context.classesChanged.emit()

    def undo(self) -> None:
        self.project.delete_class(self.info.id)  # empty: later labels were undone first
        self.context.classesChanged.emit()


class _SetClassValue(_ClassCommand):
    """Renames or recolors a class; undo sets the old value back."""

    setter, field = "", ""

    def __init__(self, context, class_id: int, value: str, text: str):
        super().__init__(context, text)
        self.class_id, self.value = class_id, value
        self.old = getattr(self._info(class_id), self.field)

    def do(self) -> None:
        getattr(self.project, self.setter)(self.class_id, self.value)
        self.context.classesChanged.emit()

    def undo(self) -> None:
        getattr(self.project, self.setter)(self.class_id, self.old)
        self.context.classesChanged.emit()


class RenameClass(_SetClassValue):
    setter, field = "rename_class", "name"

    def __init__(self, context, class_id: int, name: str):
        # Old name first, new name last: the Edit menu reads "Undo Rename class “outwear” to
        # “outerwear”", what the person did, not where undo would take them.
        old = next(c.name for c in context.project.classes() if c.id == class_id)
        super().__init__(context, class_id, name, f"Rename class “{old}” to “{name.strip()}”")


class RecolorClass(_SetClassValue):
    setter, field = "set_class_color", "color"

    def __init__(self, context, class_id: int, color: str):
        super().__init__(context, class_id, color, "Change a class color")


class _RemovesClass(_ClassCommand):
    """Delete and merge both take a class away from its images; undo brings the class back
    with its id, color and position, and gives its images back to it."""

    def __init__(self, context, class_id: int):
        super().__init__(context, "")
        self.info = self._info(class_id)
        self.ids: list[int] = []

    def undo(self) -> None:
        info = self.info
        self.project.add_class(info.name, info.color, info.id, info.position)
        self.project.set_labels({image_id: info.id for image_id in self.ids})
        self._announce()

    def _announce(self) -> None:
        self.context.classesChanged.emit()
        self.context.imagesChanged.emit(list(self.ids))


class DeleteClass(_RemovesClass):
    """Deletes a class; its images become unlabeled."""

    def __init__(self, context, class_id: int):
        super().__init__(context, class_id)
        self.setText(f"Delete class “{self.info.name}”")

    def do(self) -> None:
        self.ids = self.project.delete_class(self.info.id)
        self._announce()


class MergeClasses(_RemovesClass):
    """Moves every image of `source_id` into `target_id` and deletes the source."""

    def __init__(self, context, source_id: int, target_id: int):
        super().__init__(context, source_id)
        self.target_id = target_id
        self.setText(f"Merge “{self.info.name}” into “{self._info(target_id).name}”")

    def do(self) -> None:
        self.ids = self.project.merge_classes(self.info.id, self.target_id)
        self._announce()
