"""What opening a project checks, so that a damaged file is named once, at open, with a
sentence, instead of failing later in a query the window or a job happens to make.

`check_header(path)` runs before SQLite touches the file (an empty file or another kind of
file is never turned into a database by opening it); `check_store(db, path)` runs on the open
connection: SQLite's own page check, the tables and columns SCHEMA defines, the schema version,
and every JSON value (settings, runs) the store will later parse.
"""

from __future__ import annotations

import json
from pathlib import Path

from mbv2gui.core.errors import UserError
from mbv2gui.core.store.schema import SCHEMA_VERSION, expected_columns
from mbv2gui.core.store.errors import ProjectDamaged

SQLITE_HEADER = b"SQLite format 3\x00"


def check_header(path: Path) -> None:
    try:
        with open(path, "rb") as file:
            header = file.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise UserError(f"The project file {path.name} cannot be read ({exc.strerror}).",
                        str(exc)) from exc
    if not header:
        raise ProjectDamaged(path, "the file is empty (0 bytes), so there is nothing in it to "
                             "recover", recoverable=False)
    if header != SQLITE_HEADER:
        raise ProjectDamaged(path, "it is not an SQLite database (it is another kind of file, "
                             "or was damaged from its first bytes on)", recoverable=False)


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
