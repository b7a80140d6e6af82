"""The project store: one SQLite file (WAL) plus a sidecar folder for caches and runs.

Every public method that changes something is one committed transaction, so a crash or a
`kill -9` at any moment loses nothing that a method returned from. Images are referenced where
they lie (paths are stored as the file system's bytes, so any file name survives) and are
never modified. Each thread that touches a project opens its own `Project` on the same file.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

from mbv2gui.core.errors import UserError, free_bytes
from mbv2gui.core.store.records import (IMAGE_COLUMNS, ClassInfo, ImageRecord, LabeledImage,
                                        NewImage, RunRecord, decode_path, encode_path,
                                        image_from_row)
from mbv2gui.core.store.schema import ADDED_LATER, SCHEMA, SCHEMA_VERSION
from mbv2gui.core.store.sidecar import PROJECT_SUFFIX, sidecar_for
from mbv2gui.core.store.splits import SPLITS
from mbv2gui.core.store.check import check_header, check_store, stored_json
from mbv2gui.core.store.errors import (GuardedConnection, disk_full_error,
                                       is_disk_full, is_read_only, read_only_reason,
                                       read_only_write_error, store_error)


# Distinct, readable colors handed to new classes in turn (Okabe-Ito, then Tableau).
CLASS_COLORS = (
    "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
    "#4E79A7", "#F28E2B", "#59A14F", "#B07AA1", "#9C755F", "#EDC948", "#76B7B2",
)


class _ReadOnly(Exception):
    """A read-write connection was refused because the file or its folder is read-only."""


def _writable(path: Path) -> bool:
    # The folder too: WAL mode creates the -wal and -shm files beside the project.
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _connection(path: Path, read_only: bool, then: str) -> sqlite3.Connection:
    """A guarded connection to `path`, set up and probed with one read, so that a refusal
    shows here (where it can still be told apart: read-only, full, damaged) and not later.
    Read-only: `mode=ro`, or `immutable=1` when not even the WAL's index can be made."""
    uri = path.absolute().as_uri()
    targets = [f"{uri}?mode=ro", f"{uri}?mode=ro&immutable=1"] if read_only else [str(path)]
    for number, target in enumerate(targets, 1):
        db = None
        try:
            db = sqlite3.connect(target, timeout=10.0, isolation_level=None, uri=read_only,
                                 factory=GuardedConnection)
            if not read_only:
                db.execute("PRAGMA journal_mode=WAL")
                # FULL: a committed label survives a power cut too, not only a crash or a kill.
                db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            db.project_path = path  # from here on, every error is a sentence
            return db
        except sqlite3.DatabaseError as exc:
            if db is not None:
                db.close()
            if is_disk_full(exc) or ((free_bytes(path) or 0) < 1 << 20 and not read_only):
                raise disk_full_error(path, f"{path}: {exc}", then) from exc
            if is_read_only(exc) and not read_only:
                raise _ReadOnly(str(exc)) from exc
            if number == len(targets):
                raise store_error(exc, path) from exc
    raise AssertionError("unreachable")


class Project:
    """An open project. Use `Project.create(path)` or `Project.open(path)`.

    Every SQLite error becomes a `UserError` sentence (core/store/errors.py); a damaged file is
    found at open (core/store/check.py). A healthy project that cannot be written (a read-only
    folder or disk) opens read-only: `read_only` is True, `read_only_reason` says why, and any
    change raises a sentence instead."""

    def __init__(self, path: Path, connection: sqlite3.Connection,
                 read_only_reason: str | None = None):
        self.path = path
        self.sidecar = sidecar_for(path)
        self.read_only_reason = read_only_reason
        try:
            self.sidecar.mkdir(parents=True, exist_ok=True)
        except OSError:
            if not read_only_reason:
                raise
        self._db = connection

    @property
    def read_only(self) -> bool:
        return bool(self.read_only_reason)

    # ----------------------------------------------------------------- open / create / close
    @classmethod
    def create(cls, path: str | os.PathLike) -> "Project":
        path = Path(path)
        if path.suffix != PROJECT_SUFFIX:
            path = path.with_name(path.name + PROJECT_SUFFIX)
        if path.exists():
            raise UserError(f"A project named {path.name} already exists in {path.parent}; "
                            "open it, or choose another name.")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"The folder {path.parent} cannot be made ({exc.strerror}); "
                            "choose another place for the project.", str(exc)) from exc
        db = None
        try:
            db = _connection(path, read_only=False, then="try again")
            db.executescript(SCHEMA + ADDED_LATER)
            db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        except BaseException as exc:
            if db is not None:
                db.close()
            # A half-made file would make the next try say "already exists".
            for leftover in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))):
                leftover.unlink(missing_ok=True)
            if isinstance(exc, _ReadOnly):
                raise UserError(f"A project cannot be made in {path.parent}: "
                                f"{read_only_reason(path)}; choose another place.",
                                str(exc)) from exc
            raise
        return cls(path, db)

    @classmethod
    def open(cls, path: str | os.PathLike) -> "Project":
        path = Path(path)
        if not path.is_file():
            raise UserError(f"There is no project at {path}; it may have been moved or deleted.")
        check_header(path)
        reason = None if _writable(path) else read_only_reason(path)
        try:
            db = _connection(path, read_only=reason is not None, then="open it again")
        except _ReadOnly:
            reason = read_only_reason(path)
            db = _connection(path, read_only=True, then="open it again")
        try:
            check_store(db, path)
            if reason is None:
                # Idempotent: adds the indexes and tables newer versions define.
                db.executescript(SCHEMA + ADDED_LATER)
        except BaseException:
            db.close()  # else the damaged file stays open (and locked on Windows)
            raise
        return cls(path, db, reason)

    def close(self) -> None:
        self._db.close()

    @property
    def name(self) -> str:
        return self.path.stem

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        if self.read_only:
            raise read_only_write_error(self.path, self.read_only_reason)
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            if self._db.in_transaction:  # SQLite already rolled back after "disk is full"
                self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def select(self, sql: str, parameters=()) -> sqlite3.Cursor:
        """A read on the project's connection, for the store's own query modules
        (core/store/queries.py); every change goes through a method of its own."""
        if not sql.lstrip().upper().startswith("SELECT"):
            raise ValueError(f"select() only reads: {sql[:40]!r}")
        return self._db.execute(sql, parameters)

    def _has_table(self, name: str) -> bool:
        return self._db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                                (name,)).fetchone() is not None

    # ----------------------------------------------------------------- settings
    def setting(self, key: str, default=None):
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (f"setting:{key}",)).fetchone()
        return default if row is None else stored_json(row[0], self.path, f"the setting “{key}”")

    def set_setting(self, key: str, value) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"setting:{key}", json.dumps(value)))

    # ----------------------------------------------------------------- classes
    def classes(self) -> list[ClassInfo]:
        rows = self._db.execute("SELECT id, name, color, position FROM classes ORDER BY position, id")
        return [ClassInfo(*row) for row in rows]

    def class_names(self) -> list[str]:
        return [c.name for c in self.classes()]

    def class_by_name(self, name: str) -> ClassInfo | None:
        row = self._db.execute(
            "SELECT id, name, color, position FROM classes WHERE name=?", (name,)).fetchone()
        return ClassInfo(*row) if row else None

    def class_counts(self) -> dict[int | None, int]:
        """Images per class id (None: unlabeled), counting only images that are present."""
        rows = self._db.execute("SELECT class_id, COUNT(*) FROM images GROUP BY class_id")
        return {class_id: count for class_id, count in rows}

    def _check_class_name(self, name: str, exclude_id: int | None = None,
                          existing_ok: bool = False) -> tuple[str, ClassInfo | None]:
        """The stripped name, and the class already called so when `existing_ok`."""
        name = name.strip()
        if not name:
            raise UserError("A class needs a name; type one and try again.")
        clash = self.class_by_name(name)
        if clash and existing_ok:
            return name, clash
        if clash and clash.id != exclude_id:
            raise UserError(f"There is already a class named “{name}”; choose another name, "
                            "or merge the two classes.")
        return name, None

    def add_class(self, name: str, color: str | None = None, class_id: int | None = None,
                  position: int | None = None, existing_ok: bool = False) -> ClassInfo:
        """A new class at the end (or, for undo, with its old id and position).

        The name is checked inside the write transaction, so two windows adding the same name
        at once get one class and a sentence, never a clash in the database. With
        `existing_ok` (an import bringing its classes) a class of exactly that name is
        returned as it is."""
        with self._transaction() as db:
            name, existing = self._check_class_name(name, existing_ok=existing_ok)
            return existing or self._insert_class(db, name, color, class_id, position)

    def _insert_class(self, db, name, color=None, class_id=None, position=None) -> ClassInfo:
        count, last = db.execute("SELECT COUNT(*), COALESCE(MAX(position), -1) FROM classes").fetchone()
        color = color or CLASS_COLORS[count % len(CLASS_COLORS)]
        position = last + 1 if position is None else position
        cursor = db.execute("INSERT INTO classes (id, name, color, position) VALUES (?, ?, ?, ?)",
                            (class_id, name, color, position))
        return ClassInfo(cursor.lastrowid, name, color, position)

    def rename_class(self, class_id: int, name: str) -> None:
        with self._transaction() as db:
            name, _ = self._check_class_name(name, exclude_id=class_id)
            db.execute("UPDATE classes SET name=? WHERE id=?", (name, class_id))

    def set_class_color(self, class_id: int, color: str) -> None:
        with self._transaction() as db:
            db.execute("UPDATE classes SET color=? WHERE id=?", (color, class_id))

    def delete_class(self, class_id: int) -> list[int]:
        """Deletes a class; its images become unlabeled. Returns their ids (for undo)."""
        with self._transaction() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM images WHERE class_id=?", (class_id,))]
            db.execute("UPDATE images SET class_id=NULL WHERE class_id=?", (class_id,))
            db.execute("DELETE FROM classes WHERE id=?", (class_id,))
        return ids

    def merge_classes(self, source_id: int, target_id: int) -> list[int]:
        """Moves every image of `source_id` into `target_id` and deletes the source.
        Returns the moved image ids (for undo)."""
        with self._transaction() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM images WHERE class_id=?", (source_id,))]
            db.execute("UPDATE images SET class_id=? WHERE class_id=?", (target_id, source_id))
            db.execute("DELETE FROM classes WHERE id=?", (source_id,))
        return ids

    # ----------------------------------------------------------------- images
    def add_images(self, images: Iterable[NewImage]) -> tuple[list[int], list[NewImage]]:
        """Adds images in one transaction. Returns (new ids, duplicates skipped): a file whose
        path or content is already in the project is a duplicate and is not added twice."""
        added, duplicates = [], []
        with self._transaction() as db:
            for image in images:
                raw_path = encode_path(image.path)
                exists = db.execute("SELECT 1 FROM images WHERE path=?", (raw_path,)).fetchone()
                if not exists and image.content_hash:
                    exists = db.execute("SELECT 1 FROM images WHERE content_hash=?",
                                        (image.content_hash,)).fetchone()
                if exists:
                    duplicates.append(image)
                    continue
                class_id = None
                if image.label:
                    found = db.execute("SELECT id FROM classes WHERE name=?", (image.label,)).fetchone()
                    class_id = found[0] if found else self._insert_class(db, image.label).id
                cursor = db.execute(
                    "INSERT INTO images (path, size, mtime, content_hash, width, height, class_id, "
                    "status, reason, added) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (raw_path, image.size, image.mtime, image.content_hash, image.width,
                     image.height, class_id, image.status, image.reason, time.time()))
                added.append(cursor.lastrowid)
        return added, duplicates

    def remove_images(self, ids: list[int]) -> list[ImageRecord]:
        """Removes images from the project (never from disk). Returns them, for undo."""
        records = self.images(ids)
        with self._transaction() as db:
            db.executemany("DELETE FROM images WHERE id=?", [(i,) for i in ids])
        return records

    def restore_images(self, records: list[ImageRecord]) -> None:
        """Puts back images removed by `remove_images`, with their ids and labels."""
        with self._transaction() as db:
            db.executemany(
                f"INSERT OR REPLACE INTO images ({IMAGE_COLUMNS}, added) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(r.id, encode_path(r.path), r.size, r.mtime, r.content_hash, r.width, r.height,
                  r.class_id, r.split, r.status, r.reason, int(r.excluded), time.time())
                 for r in records])

    def set_labels(self, labels: dict[int, int | None]) -> dict[int, int | None]:
        """Sets each image's class (None: unlabeled) in one transaction. Returns the previous
        classes, so that undo is `set_labels(previous)`."""
        previous = self._column_values("class_id", list(labels))
        with self._transaction() as db:
            db.executemany("UPDATE images SET class_id=? WHERE id=?",
                           [(class_id, image_id) for image_id, class_id in labels.items()])
        return previous

    def label_images(self, ids: list[int], class_id: int | None) -> dict[int, int | None]:
        return self.set_labels({image_id: class_id for image_id in ids})

    def set_splits(self, splits: dict[int, str]) -> dict[int, str]:
        """Pins images to 'train'/'validation'/'test' or back to 'auto'. Returns the previous."""
        bad = set(splits.values()) - set(SPLITS)
        if bad:
            raise ValueError(f"unknown split {bad}")
        previous = self._column_values("split", list(splits))
        with self._transaction() as db:
            db.executemany("UPDATE images SET split=? WHERE id=?",
                           [(split, image_id) for image_id, split in splits.items()])
        return previous

    def set_excluded(self, excluded: dict[int, bool]) -> dict[int, bool]:
        """Marks images "exclude from training". Returns the previous values."""
        previous = {k: bool(v) for k, v in self._column_values("excluded", list(excluded)).items()}
        with self._transaction() as db:
            db.executemany("UPDATE images SET excluded=? WHERE id=?",
                           [(int(flag), image_id) for image_id, flag in excluded.items()])
        return previous

    def set_status(self, statuses: dict[int, tuple[str, str | None]]) -> None:
        with self._transaction() as db:
            db.executemany("UPDATE images SET status=?, reason=? WHERE id=?",
                           [(status, reason, image_id)
                            for image_id, (status, reason) in statuses.items()])

    def set_file_stats(self, stats: dict[int, tuple[int, float]]) -> None:
        """Records a file's new (size, mtime) once its content was found unchanged (a copied or
        touched file), so the next check on open is a cheap stat again instead of a re-hash."""
        with self._transaction() as db:
            db.executemany("UPDATE images SET size=?, mtime=? WHERE id=?",
                           [(size, mtime, image_id) for image_id, (size, mtime) in stats.items()])

    def _column_values(self, column: str, ids: list[int]) -> dict[int, object]:
        values = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            values.update(self._db.execute(
                f"SELECT id, {column} FROM images WHERE id IN ({marks})", chunk).fetchall())
        return values

    def image(self, image_id: int) -> ImageRecord | None:
        row = self._db.execute(f"SELECT {IMAGE_COLUMNS} FROM images WHERE id=?", (image_id,)).fetchone()
        return image_from_row(row) if row else None

    def images(self, ids: list[int] | None = None) -> list[ImageRecord]:
        """The given images (in that order), or all of them in the order they were added."""
        if ids is None:
            rows = self._db.execute(f"SELECT {IMAGE_COLUMNS} FROM images ORDER BY id")
            return [image_from_row(row) for row in rows]
        by_id = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self._db.execute(
                    f"SELECT {IMAGE_COLUMNS} FROM images WHERE id IN ({marks})", chunk):
                by_id[row[0]] = image_from_row(row)
        return [by_id[i] for i in ids if i in by_id]

    def image_count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM images").fetchone()[0]

    def status_counts(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT status, COUNT(*) FROM images GROUP BY status"))

    def find_by_hash(self, content_hash: str) -> int | None:
        row = self._db.execute("SELECT id FROM images WHERE content_hash=?", (content_hash,)).fetchone()
        return row[0] if row else None

    def labeled_images(self) -> list[LabeledImage]:
        """Images training can use: labeled, readable, present, not excluded; in class order."""
        rows = self._db.execute(
            "SELECT i.id, i.path, i.content_hash, c.name, i.split, i.status FROM images i "
            "JOIN classes c ON c.id = i.class_id WHERE i.excluded = 0 AND i.status = 'ok' "
            "ORDER BY c.position, i.id")
        return [LabeledImage(r[0], decode_path(r[1]), r[2], r[3], r[4], r[5]) for r in rows]

    def relink(self, old_folder: str, new_folder: str) -> int:
        """Points every image under `old_folder` to the same relative path under `new_folder`
        (after the user moved a folder). Returns how many images were relinked; their status is
        re-checked by the caller with `mbv2gui.core.files.filecheck.check_files`."""
        old = encode_path(old_folder).rstrip(b"/") + b"/"
        new = encode_path(new_folder).rstrip(b"/") + b"/"
        rows = self._db.execute("SELECT id, path FROM images").fetchall()
        moves = [(new + path[len(old):], image_id) for image_id, path in rows if path.startswith(old)]
        with self._transaction() as db:
            db.executemany("UPDATE images SET path=? WHERE id=?", moves)
        return len(moves)

    # ----------------------------------------------------------------- runs
    def record_run(self, run_id: str, run_dir: Path, config: dict, metrics: dict) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO runs (id, created, run_dir, config, metrics) "
                       "VALUES (?, ?, ?, ?, ?)",
                       (run_id, time.strftime("%Y-%m-%d %H:%M:%S"), str(run_dir),
                        json.dumps(config), json.dumps(metrics)))

    def runs(self) -> list[RunRecord]:
        rows = self._db.execute("SELECT id, created, run_dir, config, metrics FROM runs "
                                "ORDER BY created, id")
        return [RunRecord(r[0], r[1], r[2], stored_json(r[3], self.path, f"the settings of run {r[0]}"),
                          stored_json(r[4], self.path, f"the results of run {r[0]}")) for r in rows]

    def delete_run(self, run_id: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM runs WHERE id=?", (run_id,))

    # ----------------------------------------------------------------- suggestions
    def store_suggestions(self, run_id: str,
                          rows: dict[int, tuple[str, float, str | None]]) -> None:
        """Replaces every stored suggestion with `rows` {image id: (label, confidence, content
        hash)}, in one transaction."""
        with self._transaction() as db:
            db.execute("DELETE FROM predictions")
            db.executemany(
                "INSERT INTO predictions (image_id, run_id, label, confidence, content_hash) "
                "VALUES (?, ?, ?, ?, ?)",
                [(image_id, run_id, label, float(confidence), content_hash)
                 for image_id, (label, confidence, content_hash) in rows.items()])

    def suggestions(self) -> dict[int, tuple[str, float]]:
        """{image id: (label, confidence)} for every suggestion still valid: the image is in
        the project with the content it was suggested for."""
        if not self._has_table("predictions"):  # an older project opened read-only
            return {}
        rows = self._db.execute(
            "SELECT p.image_id, p.label, p.confidence FROM predictions p JOIN images i "
            "ON i.id = p.image_id WHERE p.content_hash IS i.content_hash ORDER BY p.image_id")
        return {image_id: (label, confidence) for image_id, label, confidence in rows}

    def suggestions_run_id(self) -> str | None:
        """The run the stored suggestions came from (None: there are none)."""
        if not self._has_table("predictions"):
            return None
        row = self._db.execute("SELECT run_id FROM predictions LIMIT 1").fetchone()
        return row[0] if row else None
