"""What opening a project checks, so that a damaged file is named once, at open, with a
sentence, instead of failing later in a query the window or a job happens to make.

`check_header(path)` runs before the project is opened for writing (an empty file or another
kind of file is never turned into a database by opening it); `check_store(db, path)` runs on the open
connection: SQLite's own page check, the tables and columns SCHEMA defines, the schema version,
and every JSON value (settings, runs) the store will later parse.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from mbv2gui.core.errors import UserError
from mbv2gui.core.store.schema import SCHEMA_VERSION, expected_columns
from mbv2gui.core.store.errors import ProjectDamaged

SQLITE_NOTADB = 26  # SQLite's result code for "file is not a database"


def check_header(path: Path) -> None:
    """Refuses an empty file or one that is not an SQLite database, before the real open.

    It never reads the file itself: closing a descriptor of a database file that SQLite also
    holds open in this process drops SQLite's POSIX locks on it (sqlite.org/howtocorrupt.html,
    section 2.2). That let a project opened twice in one process (every job opens its own
    connection) write while another process read, which then never saw the write (a training
    in the engine process whose run did not appear in the window), and can corrupt the file.
    SQLite itself, asked read-only, says whether the file is a database."""
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise UserError(f"The project file {path.name} cannot be read ({exc.strerror}).",
                        str(exc)) from exc
    if size == 0:
        raise ProjectDamaged(path, "the file is empty (0 bytes), so there is nothing in it to "
                             "recover", recoverable=False)
    probe = None
    try:
        probe = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=10.0)
        probe.execute("PRAGMA schema_version").fetchone()
    except sqlite3.DatabaseError as exc:
        if getattr(exc, "sqlite_errorcode", None) == SQLITE_NOTADB:
            raise ProjectDamaged(path, "it is not an SQLite database (it is another kind of "
                                 "file, or was damaged from its first bytes on)",
                                 recoverable=False) from exc
        # Locked, read-only, I/O: the real open that follows tells these apart.
    finally:
        if probe is not None:
            probe.close()


def stored_json(text, path: Path, what: str):
    """`json.loads(text)`, or a sentence naming `what` (“the setting “seed””) if it is not JSON."""
    try:
        return json.loads(text)
    except (TypeError, ValueError) as exc:
        raise ProjectDamaged(path, f"{what} cannot be read (it is not valid JSON)",
                             f"{path}: {what}: {exc}: {str(text)[:200]!r}") from exc


# Files whose pages were found sound, by (path, size, mtime): SQLite's page check reads the
# whole file (150 ms at 50,000 images), and every job opens the project again; once per
# process and version of the file is enough.
_sound_files: set[tuple] = set()


def _check_pages(db, path: Path) -> None:
    try:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    except OSError:
        key = None
    if key is not None and key in _sound_files:
        return
    problems = [row[0] for row in db.execute("PRAGMA quick_check(5)")]
    if problems != ["ok"]:
        raise ProjectDamaged(path, "some of its pages are broken", "\n".join(problems))
    if key is not None:
        _sound_files.add(key)


def check_store(db, path: Path) -> None:
    """Raises a `UserError` (mostly `ProjectDamaged`) for anything that would make a later
    query fail; `db` is the project's guarded connection."""
    _check_pages(db, path)
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    expected = expected_columns()
    if not tables & set(expected):
        raise ProjectDamaged(path, "it is a database of another program, not an mbv2gui project", recoverable=False)
    for table, columns in expected.items():
        if table not in tables:
            raise ProjectDamaged(path, f"its table “{table}” is missing")
        present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        missing = [column for column in columns if column not in present]
        if missing:
            raise ProjectDamaged(path, f"the table “{table}” lacks the column"
                                 f"{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    _check_version(db, path)
    for key, value in db.execute("SELECT key, value FROM meta WHERE key LIKE 'setting:%'"):
        stored_json(value, path, f"the setting “{key.removeprefix('setting:')}”")
    for run_id, config, metrics in db.execute("SELECT id, config, metrics FROM runs"):
        stored_json(config, path, f"the settings of run {run_id}")
        stored_json(metrics, path, f"the results of run {run_id}")


def _check_version(db, path: Path) -> None:
    row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    if row is None:
        raise ProjectDamaged(path, "it does not say which version of mbv2gui made it")
    try:
        version = int(row[0])
    except (TypeError, ValueError):
        raise ProjectDamaged(path, f"its version number “{row[0]}” is not a number") from None
    if version > SCHEMA_VERSION:
        raise UserError(f"{path.name} was made by a newer version of mbv2gui; "
                        "update the app to open it.")
