"""What went wrong with a project file, in words.

Every SQLite error the store meets becomes a `UserError` here, in one place: the project's
connection is a `GuardedConnection`, whose `execute`/`executemany` and cursors (fetching and
iterating rows, where a damaged page deep in the file is first read) translate
`sqlite3.Error` through `store_error`. So no caller, the window or the CLI, ever sees a raw
`DatabaseError`, and a full or read-only disk is never called "damaged" (a user could delete a
healthy project believing it).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from mbv2gui.core.errors import UserError, disk_full_message


class ProjectDamaged(UserError):
    """The project file itself is broken; `recoverable` says whether a recovered copy is worth
    trying (not for a file that is not an SQLite database at all)."""

    def __init__(self, path: Path, what: str, detail: str = "", recoverable: bool = True):
        if recoverable:
            message = (f"The project file {path.name} is damaged: {what}; mbv2gui can make a "
                       "recovered copy next to it.")
        else:
            message = f"The project file {path.name} cannot be opened: {what}."
        super().__init__(message, detail or f"{path}")
        self.path = Path(path)
        self.recoverable = recoverable


def disk_full_error(path: Path, detail: str = "", then: str = "try again") -> UserError:
    """The project's disk is full: the same sentence as every other full disk (which disk, how
    much is free), ending with what to do here."""
    return UserError(disk_full_message(Path(path).parent, f"write to {Path(path).name}", None,
                                       advice=f"Free some space on it and {then}."),
                     detail or str(path))


def read_only_reason(path: Path) -> str:
    """Why `path` cannot be written, as the end of "…because …". Looks at the file system's
    flag and the permission bits rather than only `os.access`, which says yes to root."""
    path = Path(path)
    folder = path.parent
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return f"the disk holding {folder} is read-only"
    except (OSError, AttributeError):
        pass
    try:
        if not os.access(folder, os.W_OK) or not folder.stat().st_mode & 0o222:
            return f"its folder {folder} is read-only"
        if not os.access(path, os.W_OK) or not path.stat().st_mode & 0o222:
            return f"the file {path.name} is read-only"
    except OSError:
        pass
    return "its file or folder cannot be written to"


def read_only_write_error(path: Path, reason: str) -> UserError:
    return UserError(f"This project is open read-only because {reason}; labels cannot be "
                     "changed.", str(path))


def read_only_notice(path: Path, reason: str) -> str:
    return (f"{Path(path).name} was opened read-only because {reason}: you can look but not "
            "change labels. Copy the project to a folder you can write to, to change it.")


def _message(exc: sqlite3.Error) -> str:
    return str(exc).lower()


def is_disk_full(exc: sqlite3.Error) -> bool:
    return "full" in _message(exc)


def is_read_only(exc: sqlite3.Error) -> bool:
    text = _message(exc)
    return "readonly" in text or "read-only" in text or "unable to open database file" in text


def store_error(exc: sqlite3.Error, path: Path) -> UserError:
    """The sentence for an SQLite error met while using the project file `path`."""
    path = Path(path)
    detail = f"{path}: {type(exc).__name__}: {exc}"
    if isinstance(exc, sqlite3.IntegrityError):
        return UserError(f"The change clashes with what is already in the project {path.name} "
                         "(another window may have made the same change at the same moment); "
                         "nothing was changed.", detail)
    if is_disk_full(exc):
        return disk_full_error(path, detail)
    if is_read_only(exc):
        return UserError(f"The project file {path.name} cannot be written to: "
                         f"{read_only_reason(path)}. Open it again to look at it read-only.",
                         detail)
    if "locked" in _message(exc) or "busy" in _message(exc):
        return UserError(f"The project {path.name} is busy in another window or program; "
                         "try again in a moment.", detail)
    if isinstance(exc, sqlite3.OperationalError) and "malformed" not in _message(exc):
        # Not the file's fault (a closed connection, an I/O hiccup): say so, never "damaged".
        return UserError(f"mbv2gui could not use the project file {path.name} just now; "
                         "close the project and open it again.", detail)
    return ProjectDamaged(path, "part of it cannot be read", detail)


class GuardedCursor(sqlite3.Cursor):
    """A cursor whose every step turns an SQLite error into the store's sentence."""

    def _fail(self, exc: sqlite3.DatabaseError):
        path = self.connection.project_path
        if path is None or isinstance(exc, sqlite3.ProgrammingError):
            # Still being set up (the opener tells the errors apart itself), or a closed
            # connection or a wrong query: the caller's own business.
            raise exc
        raise store_error(exc, path) from exc

    def execute(self, *args):
        try:
            return super().execute(*args)
        except sqlite3.DatabaseError as exc:
            self._fail(exc)

    def executemany(self, *args):
        try:
            return super().executemany(*args)
        except sqlite3.DatabaseError as exc:
            self._fail(exc)

    def fetchone(self):
        try:
            return super().fetchone()
        except sqlite3.DatabaseError as exc:
            self._fail(exc)

    def fetchmany(self, *args):
        try:
            return super().fetchmany(*args)
        except sqlite3.DatabaseError as exc:
            self._fail(exc)

    def fetchall(self):
        try:
            return super().fetchall()
        except sqlite3.DatabaseError as exc:
            self._fail(exc)

    def __next__(self):
        try:
            return super().__next__()
        except sqlite3.DatabaseError as exc:
            self._fail(exc)


class GuardedConnection(sqlite3.Connection):
    """`sqlite3.connect(..., factory=GuardedConnection)`; set `project_path` right after."""

    project_path: Path | None = None

    def execute(self, *args):
        return self.cursor(GuardedCursor).execute(*args)

    def executemany(self, *args):
        return self.cursor(GuardedCursor).executemany(*args)
