"""A recovered copy of a damaged project, made beside it; the damaged file is never touched.

`recover_project(path, report, should_stop) -> RecoveryResult` is a job (core/jobs.py). It
works on a copy of the damaged file (and its WAL) in a temporary folder, because even reading
a WAL database can write to it. Two ways to get at the rows, the better result kept:
  1. SQLite's own recovery, the `.recover` command of the `sqlite3` shell, when the shell is
     installed (it reads the pages directly, so it gets rows past a broken b-tree page);
  2. always, a careful copy of what the Python binding can still read: table by table, by
     rowid ranges that are halved around every range that fails, down to single rows.
     The packaged app cannot count on the shell, so this one alone must be good enough:
     image and class rows that no query can reach (beneath a broken page) are then read
     from the pages themselves (core/store/page_salvage.py).
The rows found are then put into a new, healthy project, `name (recovered).mbv2`, keeping
ids (so labels keep their classes) and leaving out any row that breaks a rule of SCHEMA.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from mbv2gui.core.errors import JobCancelled, UserError
from mbv2gui.core.jobs import ignore_events, message, never_stop, progress
from mbv2gui.core.store.page_salvage import leaf_rows
from mbv2gui.core.store.project import PROJECT_SUFFIX, Project
from mbv2gui.core.store.schema import expected_columns

Rows = dict[str, tuple[list[str], list[tuple]]]  # table -> (columns, rows)
SHELL_TIMEOUT_S = 600
# Reads that may fail per table before the rest of it is given up (each takes microseconds;
# a table whose root page is gone would otherwise be probed a million times).
MAX_FAILED_READS = 20_000


@dataclass(frozen=True)
class RecoveryResult:
    path: str            # the recovered copy
    images: int
    labels: int          # images that kept a class
    classes: int
    runs: int
    skipped: int         # rows found but unusable (broken values)
    method: str          # "sqlite3 .recover" or "row by row" (", and page scan")
    unnamed_classes: int = 0  # classes whose names were lost: “Recovered class N”

    def summary(self) -> str:
        text = (f"Recovered {self.images:,} image{'' if self.images == 1 else 's'} and "
                f"{self.labels:,} label{'' if self.labels == 1 else 's'} from the damaged "
                f"project into {Path(self.path).name}; the original was left as it was.")
        if self.unnamed_classes:
            text += (f" The names of {self.unnamed_classes} class"
                     f"{'' if self.unnamed_classes == 1 else 'es'} were lost: they are called "
                     "“Recovered class …”; rename them in the class list.")
        return text


def recovered_path(path: Path) -> Path:
    """`name (recovered).mbv2` beside `path`; `name (recovered 2).mbv2` and so on if taken."""
    stem = path.name.removesuffix(PROJECT_SUFFIX)
    for number in range(1, 1000):
        suffix = "" if number == 1 else f" {number}"
        candidate = path.with_name(f"{stem} (recovered{suffix}){PROJECT_SUFFIX}")
        if not candidate.exists():
            return candidate
    raise UserError(f"There are too many recovered copies of {path.name} in {path.parent}; "
                    "move some away and try again.")


def recover_project(path, report=ignore_events, should_stop=never_stop) -> RecoveryResult:
    source = Path(path)
    if not source.is_file():
        raise UserError(f"There is no project at {source}; it may have been moved or deleted.")
    target = recovered_path(source)
    with tempfile.TemporaryDirectory(prefix="mbv2gui-recover-") as work:
        work = Path(work)
        copy = _copy_damaged(source, work)
        report(progress(0, 3, "Reading what is left of the project"))
        found, method = _best_rows(copy, work, should_stop)
        if should_stop():
            raise JobCancelled()
        report(progress(1, 3, "Writing the recovered copy"))
        result = _write_project(found, work / f"recovered{PROJECT_SUFFIX}", target, method)
    report(progress(3, 3, "Done"))
    report(message(result.summary()))
    return result


def _copy_damaged(source: Path, work: Path) -> Path:
    copy = work / "damaged.sqlite"
    try:
        shutil.copyfile(source, copy)
        wal = source.with_name(source.name + "-wal")
        if wal.is_file():  # committed changes not yet written into the file itself
            shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
    except OSError as exc:
        raise UserError(f"The project file {source.name} cannot be read ({exc.strerror}), so "
                        "nothing can be recovered from it.", str(exc)) from exc
    return copy


def _best_rows(copy: Path, work: Path, should_stop) -> tuple[Rows, str]:
    """The rows of the way that finds more images (then more rows in all)."""
    candidates = []
    shell = shutil.which("sqlite3")
    if shell:
        salvage = work / "salvage.sqlite"
        if _recover_with_shell(shell, copy, salvage, should_stop):
            candidates.append((readable_rows(salvage, should_stop), "sqlite3 .recover"))
    candidates.append((readable_rows(copy, should_stop), "row by row"))

    def score(found: Rows) -> tuple[int, int]:
        return len(found.get("images", ((), []))[1]), sum(len(r) for _, r in found.values())
    found, method = max(candidates, key=lambda c: score(c[0]))
    if _add_orphans(found, copy):
        method += " and page scan"
    return found, method


def _is_image(row: dict) -> bool:
    return isinstance(row.get("path"), bytes)


def _is_class(row: dict) -> bool:
    return (isinstance(row.get("name"), str) and isinstance(row.get("position"), int)
            and str(row.get("color", "")).startswith("#"))


# The tables whose lost rows are worth a page scan (the labels), and what their rows look like.
_ORPHAN_SHAPES = {"images": _is_image, "classes": _is_class}


def _add_orphans(found: Rows, copy: Path) -> int:
    """Adds the image and class rows that the pages still hold but no query could reach
    (beneath a broken b-tree page). Returns how many were added."""
    try:
        cells = leaf_rows(copy)
    except OSError:
        return 0
    added = 0
    for table, looks_right in _ORPHAN_SHAPES.items():
        columns, rows = found.get(table) or (expected_columns()[table], [])
        if "id" not in columns:
            continue
        at = columns.index("id")
        have = {row[at] for row in rows}
        extra = []
        for rowid, values in cells:
            if rowid in have or len(values) != len(columns) or values[at] is not None:
                continue  # the id is the rowid, so the record holds NULL in its place
            values[at] = rowid
            if looks_right(dict(zip(columns, values))):
                extra.append(tuple(values))
                have.add(rowid)
        found[table] = (columns, rows + extra)
        added += len(extra)
    return added


def _recover_with_shell(shell: str, copy: Path, salvage: Path, should_stop) -> bool:
    """`sqlite3 copy .recover | sqlite3 salvage`. False if the shell could not do it."""
    try:
        reader = subprocess.Popen([shell, "-bail", str(copy), ".recover"],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  stdin=subprocess.DEVNULL)
        writer = subprocess.Popen([shell, str(salvage)], stdin=reader.stdout,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        return False
    reader.stdout.close()  # the writer owns the pipe now
    deadline = time.monotonic() + SHELL_TIMEOUT_S
    while writer.poll() is None:
        if should_stop() or time.monotonic() > deadline:
            reader.kill()
            writer.kill()
            reader.wait()
            writer.wait()
            return False
        time.sleep(0.05)
    reader.wait()
    return salvage.is_file()


def readable_rows(database: Path, should_stop=never_stop) -> Rows:
    """Every row of the project's tables that SQLite can still read from `database`, with
    the columns each table has there (a dropped column is simply absent)."""
    try:
        db = sqlite3.connect(database, isolation_level=None)
        # Load the schema even where it points at broken or missing pages (a truncated
        # file): SQLite then refuses only the reads that touch them, not every read.
        db.execute("PRAGMA writable_schema=ON")
    except sqlite3.Error:
        return {}
    found: Rows = {}
    try:
        for table in expected_columns():
            columns = _columns(db, table)
            if should_stop() or not columns:  # no schema row: SQL cannot name the table
                continue
            try:
                last = db.execute(f"SELECT MAX(rowid) FROM {table}").fetchone()[0] or 0
            except sqlite3.Error:
                last = 1 << 20  # the right edge of its b-tree is broken: search wide
            found[table] = (columns, _rows_in_range(db, table, columns, 1, last, should_stop))
    finally:
        db.close()
    return found


def _columns(db, table: str) -> list[str]:
    try:
        return [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
    except sqlite3.Error:
        return []


def _rows_in_range(db, table, columns, low, high, should_stop) -> list[tuple]:
    """The rows with rowid in [low, high] that can be read: the whole range in one query,
    or, when that fails on a broken page, each half of it in turn, down to single rows."""
    names = ", ".join(f'"{c}"' for c in columns)
    pending, rows, failures = [(low, high)], [], 0
    while pending and not should_stop() and failures < MAX_FAILED_READS:
        start, end = pending.pop()
        try:
            rows.extend(db.execute(f"SELECT {names} FROM {table} WHERE rowid BETWEEN ? AND ? "
                                   "ORDER BY rowid", (start, end)).fetchall())
        except sqlite3.Error:
            failures += 1
            if start < end:
                middle = (start + end) // 2
                pending.extend([(middle + 1, end), (start, middle)])
    return rows


def _write_project(found: Rows, scratch: Path, target: Path, method: str) -> RecoveryResult:
    expected = expected_columns()
    project = Project.create(scratch)
    skipped = 0
    try:
        db = project._db  # noqa: SLF001 - recovery writes rows with their own ids
        with project._transaction():  # noqa: SLF001
            db.execute("PRAGMA defer_foreign_keys=ON")
            for table in ("classes", "images", "runs", "meta"):
                columns, rows = found.get(table, ([], []))
                skipped += _insert_rows(db, table, columns, rows, expected[table])
            unnamed = _name_lost_classes(project, db)
        counts = db.execute(
            "SELECT (SELECT COUNT(*) FROM images), (SELECT COUNT(class_id) FROM images), "
            "(SELECT COUNT(*) FROM classes), (SELECT COUNT(*) FROM runs)").fetchone()
    finally:
        project.close()  # the last connection: SQLite folds the WAL into the file
    if counts[0] == 0 and counts[2] == 0:
        raise UserError("Nothing could be recovered from the damaged project: no image or "
                        "class in it can still be read.", f"method: {method}")
    try:
        shutil.copyfile(scratch, target)
    except OSError as exc:
        target.unlink(missing_ok=True)
        raise UserError(f"The recovered copy cannot be written to {target.parent} "
                        f"({exc.strerror}); copy the damaged project to a folder you can "
                        "write to and try again.", str(exc)) from exc
    return RecoveryResult(str(target), counts[0], counts[1], counts[2], counts[3], skipped,
                          method, unnamed)


def _name_lost_classes(project: Project, db) -> int:
    """Images whose class row was lost keep their grouping: each lost class comes back as
    “Recovered class N”, for the person to rename. Returns how many."""
    lost = [row[0] for row in db.execute(
        "SELECT DISTINCT class_id FROM images WHERE class_id IS NOT NULL AND class_id NOT IN "
        "(SELECT id FROM classes) ORDER BY class_id")]
    for class_id in lost:
        name, number = f"Recovered class {class_id}", 1
        while project.class_by_name(name) is not None:
            number += 1
            name = f"Recovered class {class_id} ({number})"
        project._insert_class(db, name, class_id=class_id)  # noqa: SLF001
    return len(lost)


def _insert_rows(db, table: str, columns: list[str], rows: list[tuple],
                 wanted: list[str]) -> int:
    """Inserts the columns both sides know, row by row; returns how many rows broke a rule
    (a value of the wrong kind, a setting that is not JSON, …) and were left out."""
    keep = [i for i, c in enumerate(columns) if c in wanted]
    if not keep:
        return len(rows)
    names = ", ".join(f'"{columns[i]}"' for i in keep)
    marks = ", ".join("?" * len(keep))
    skipped = 0
    for row in rows:
        values = [row[i] for i in keep]
        fields = dict(zip((columns[i] for i in keep), values))
        if table == "meta" and fields.get("key") == "schema_version":
            continue  # the new project has its own
        if not _usable(table, fields):
            skipped += 1
            continue
        try:
            db.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", values)
        except UserError:  # the store's sentence for a broken rule: leave this row out
            skipped += 1
    return skipped


def _usable(table: str, row: dict) -> bool:
    if table == "meta":  # a setting must parse to be of use
        return isinstance(row.get("key"), str) and _parses(row.get("value"))
    if table == "runs":
        return _parses(row.get("config")) and _parses(row.get("metrics"))
    if table == "images":
        return isinstance(row.get("path"), bytes)
    return True


def _parses(text) -> bool:
    try:
        json.loads(text)
    except (TypeError, ValueError):
        return False
    return True
