"""Errors a non-programmer can read.

Every error the core raises on purpose is a `UserError`: `message` is one plain sentence
(which file, what is wrong, what to do), `detail` is the technical text shown under it, and
`actions` names what the person can do next (e.g. "retry", "choose_file", "from_scratch"), for
a window to offer as buttons; it crosses the engine process and the job runner with the error.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path


class UserError(Exception):
    """A problem the user can understand and act on."""

    def __init__(self, message: str, detail: str = "", actions: tuple[str, ...] = ()):
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.actions = tuple(actions)

    def __reduce__(self):  # pickles intact (the engine process sends errors to the window)
        return (UserError, (self.message, self.detail, self.actions))

    def __str__(self) -> str:
        return self.message


class JobCancelled(Exception):
    """Raised inside a job when `should_stop()` said yes and the job has nothing to return."""


# ---------------------------------------------------------------- a disk that refuses a write
# Errors that mean "this disk or folder cannot take the write", as opposed to a bug or a missing
# file: each becomes one sentence naming the folder, its disk, the free and needed space and
# what to do (see disk_error).
DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
DISK_REFUSED = DISK_FULL | {errno.EROFS, errno.EACCES, errno.EPERM}

MOVE_ADVICE = "Free some space on it or choose a folder on another disk."


def is_disk_error(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in DISK_REFUSED


def human_bytes(size: float) -> str:
    """340 MB, 1.5 GB, 12 KB: the figures a person compares with what a file manager says."""
    if size < 1000:
        return f"{int(size)} bytes"
    for unit in ("KB", "MB", "GB", "TB"):
        size /= 1000
        if size < 1000 or unit == "TB":
            return f"{size:.1f} {unit}" if size < 10 else f"{size:.0f} {unit}"


def visible_folder(path) -> Path:
    """`path`, or the folder holding the hidden partial output it lies in (the name a person
    knows; see core/files/partial_outputs.py)."""
    from mbv2gui.core.files.partial_outputs import PATTERN

    path = Path(os.path.abspath(os.fspath(path)))
    for parent in [path, *path.parents]:
        if PATTERN.match(parent.name):
            return parent.parent
    return path


def nearest_existing(path) -> Path:
    """The path itself or its nearest existing parent: where a folder about to be made lies."""
    path = Path(os.path.abspath(os.fspath(path)))
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def mount_point(path) -> Path:
    """The mount point of the disk holding `path` (the folder a user recognises as the disk)."""
    path = nearest_existing(path)
    while not os.path.ismount(path) and path.parent != path:
        path = path.parent
    return path


def free_bytes(path) -> int | None:
    """Bytes an ordinary user may still write on the disk holding `path`, or None if unknown."""
    try:
        return int(shutil.disk_usage(nearest_existing(path)).free)
    except OSError:
        return None


def disk_full_message(path, action: str, needed: int | None, free: int | None = None,
                      advice: str = MOVE_ADVICE, quota: bool = False) -> str:
    """"The disk holding X (mounted at /) is full: 12 MB free, about 340 MB needed to train.
    Free some space on it or choose a folder on another disk." """
    path = visible_folder(path)
    free = free_bytes(path) if free is None else free
    disk = f"the disk holding {os.fspath(path)} (mounted at {mount_point(path)})"
    subject = (f"Your disk quota on {disk} is used up" if quota
               else f"{disk[0].upper()}{disk[1:]} is full")
    amounts = [f"{human_bytes(free)} free" if free is not None else "",
               f"about {human_bytes(needed)} needed to {action}" if needed else ""]
    said = ", ".join(a for a in amounts if a)
    consequence = "" if needed else f", so the app could not {action}"
    return f"{subject}{': ' + said if said else ''}{consequence}. {advice}"


def disk_error(exc: OSError, path, action: str, needed: int | None = None,
               advice: str = MOVE_ADVICE) -> UserError:
    """The one sentence for a write the disk refused (full, quota, read-only, not allowed).

    `path` is the file or folder being written, `action` what the app was doing, in the words
    of "... needed to <action>" ("train", "export the model", "save the CSV file")."""
    path = visible_folder(path)
    code = getattr(exc, "errno", None)
    if code in DISK_FULL:
        quota = code == getattr(errno, "EDQUOT", None) and code != errno.ENOSPC
        message = disk_full_message(path, action, needed, advice=advice, quota=quota)
    elif code == errno.EROFS:
        message = (f"The folder {nearest_existing(path)} is on a read-only disk (mounted at "
                   f"{mount_point(path)}), so the app could not {action} there. Choose a folder "
                   "on another disk.")
    elif code in (errno.EACCES, errno.EPERM):
        message = (f"You are not allowed to write in {nearest_existing(path)}, so the app could "
                   f"not {action} there. Choose another folder, or ask for write permission.")
    else:
        message = (f"The app could not {action}: writing {path} failed "
                   f"({getattr(exc, 'strerror', None) or exc}).")
    return UserError(message, f"{type(exc).__name__}: {exc}")
