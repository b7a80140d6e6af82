"""Import jobs: folders, loose files and `path,label` CSV files into a project.

Both are jobs (`job(..., report, should_stop) -> ImportSummary`, see mbv2gui.core.jobs) and run
in a worker thread, so each opens its own connection to the project and closes it at the end.

The folder rule (Keras' `flow_from_directory` layout; the files are listed by the one folder
walker, mbv2gui.core.files.folders): when a dropped folder has subfolders that hold images, each
top-level subfolder's name is the class of every image under it, at any depth. Images lying
directly in a dropped folder, and files dropped on their own, arrive unlabeled. A folder whose
images all lie directly in it (no class subfolders) therefore arrives unlabeled: the user names
the class, we do not guess it from a folder name that may be "Downloads".

Events, besides "progress" (counting first, with total None, then done/total over the files):
  {"type": "images_added", "ids": [int, ...]}  after each committed batch (~200 files or 0.3 s)
"""

from __future__ import annotations

import csv
import os
import stat
import threading
import time
from collections import deque
from contextlib import closing
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from mbv2gui.core.errors import UserError
from mbv2gui.core.files.folders import MISSING, NOT_REGULAR, walk_dropped
from mbv2gui.core.files.images import ImageError, content_hash, display_path, image_info, is_image_name
from mbv2gui.core.jobs import Report, ShouldStop, Throttle, progress
from mbv2gui.core.store.project import NewImage, Project
from mbv2gui.core.words import plural

BATCH_FILES = 200
BATCH_SECONDS = 0.3
CHUNK_FILES = 8
# Hashing (C code that releases the GIL) and waiting on a slow or cold disk overlap across a few
# threads (measured on 2 cores, warm cache: 10-15% faster for 500 KB photos; more on a cold or
# network disk). For tiny files the GIL-holding Python header parsing dominates and threads only
# contend (25-40% slower), so below PARALLEL_FROM_BYTES one reader thread works ahead of the
# database writes.
WORKERS = min(4, (os.cpu_count() or 1) + 2)
PARALLEL_FROM_BYTES = 128 * 1024
HEADER_NAMES = {"path", "file", "filename", "file_name", "filepath", "file_path", "image"}
LABEL_NAMES = {"label", "class", "category"}


@dataclass
class ImportSummary:
    added_ids: list[int] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)          # paths not added twice
    non_images: int = 0
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (path, reason), added
    classes_created: list[str] = field(default_factory=list)
    cancelled: bool = False
    bad_rows: list[tuple[int, str]] = field(default_factory=list)    # CSV (line, reason)
    labels: dict[str, int] = field(default_factory=dict)             # class -> images added
    unlabeled: int = 0

    def sentence(self) -> str:
        """E.g. "Imported 1,203 images into 3 classes; 4 duplicates and 12 non-image files
        were skipped; 2 images cannot be read." """
        added = len(self.added_ids)
        if not added:
            text = "No new images were imported"
        elif not self.labels:
            text = f"Imported {plural(added, 'unlabeled image')}"
        else:
            text = f"Imported {plural(added, 'image')} into {plural(len(self.labels), 'class', 'classes')}"
            if self.unlabeled:
                text += f" ({self.unlabeled:,} unlabeled)"
        skipped = []
        if self.duplicates:
            skipped.append(plural(len(self.duplicates), "duplicate"))
        if self.non_images:
            skipped.append(plural(self.non_images, "non-image file"))
        if self.bad_rows:
            skipped.append(plural(len(self.bad_rows), "unusable CSV row"))
        if skipped:
            total = len(self.duplicates) + self.non_images + len(self.bad_rows)
            text += f"; {' and '.join(skipped)} {'was' if total == 1 else 'were'} skipped"
        if self.unreadable:
            text += f"; {plural(len(self.unreadable), 'image')} cannot be read"
        text += "."
        if self.cancelled:
            text = "The import was cancelled. " + text
        return text

    def details(self, limit: int = 50) -> str:
        """The technical list behind the sentence: which files and rows, and why."""
        lines = [f"{display_path(p)}: {r}" for p, r in self.unreadable[:limit]]
        lines += [f"CSV line {n}: {r}" for n, r in self.bad_rows[:limit]]
        lines += [f"{display_path(p)}: already in the project" for p in self.duplicates[:limit]]
        return "\n".join(lines)


# ------------------------------------------------------------------------- reading files
def _inspect(path: str, label: str | None) -> NewImage:
    """Size, mtime, content hash and size in pixels; a file that cannot be read is still
    returned, with status 'unreadable' and the reason, so the user sees it listed."""
    try:
        info = os.stat(path)
    except OSError:
        return NewImage(path, 0, 0.0, None, None, None, "unreadable", MISSING, label)
    # The walker refuses pipes and devices; checked again here for a CSV row, or a file
    # replaced since it was listed: a pipe named x.jpg would block the read forever.
    if not stat.S_ISREG(info.st_mode):
        return NewImage(path, 0, info.st_mtime, None, None, None, "unreadable", NOT_REGULAR, label)
    digest = None
    try:
        digest = content_hash(path)
        dims = image_info(path)
        return NewImage(path, info.st_size, info.st_mtime, digest, dims.width, dims.height,
                        "ok", None, label)
    except ImageError as exc:
        return NewImage(path, info.st_size, info.st_mtime, digest, None, None, "unreadable",
                        exc.reason, label)


def _workers_for(items: list[tuple[str, str | None]]) -> int:
    """WORKERS threads for big files, one for small ones; judged on a few files' sizes."""
    sizes = [_size(path) for path, _ in items[:: max(1, len(items) // 32)][:32]]
    return WORKERS if sizes and sum(sizes) / len(sizes) >= PARALLEL_FROM_BYTES else 1


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _inspected(items: list[tuple[str, str | None]]) -> Iterator[NewImage]:
    """Each item inspected, in order, read ahead by a few threads. Files go out in small chunks:
    one task per file costs about as much as reading a small file. Closing the generator (on
    cancel) makes the queued chunks return at once."""
    stop = threading.Event()

    def chunk_of(chunk):
        return [_inspect(path, label) for path, label in chunk if not stop.is_set()]

    chunks = (items[i:i + CHUNK_FILES] for i in range(0, len(items), CHUNK_FILES))
    workers = _workers_for(items)
    with ThreadPoolExecutor(workers, thread_name_prefix="import") as pool:
        queue: deque = deque()
        try:
            while True:
                # A bounded window in flight: memory stays flat and a cancel is quick.
                while len(queue) < workers * 4 and (chunk := next(chunks, None)) is not None:
                    queue.append(pool.submit(chunk_of, chunk))
                if not queue:
                    return
                yield from queue.popleft().result()
        finally:
            stop.set()
            for future in queue:
                future.cancel()


def _ingest(project: Project, items: list[tuple[str, str | None]], summary: ImportSummary,
            report: Report, should_stop: ShouldStop) -> None:
    """Inspects the files in a small thread pool (results in order) and adds them in batches,
    each its own committed transaction, announcing each batch's ids."""
    throttle = Throttle(report)
    total = len(items)
    before = set(project.class_names())
    pending: list[NewImage] = []
    last_flush = time.monotonic()

    def flush() -> None:
        nonlocal pending, last_flush
        if pending:
            ids, duplicates = project.add_images(pending)
            skipped = {id(d) for d in duplicates}  # by identity: a path may come twice
            summary.duplicates += [d.path for d in duplicates]
            for image in (i for i in pending if id(i) not in skipped):
                if image.label:
                    summary.labels[image.label] = summary.labels.get(image.label, 0) + 1
                summary.unlabeled += not image.label
                if image.status != "ok":
                    summary.unreadable.append((image.path, image.reason or "unknown"))
            summary.added_ids += ids
            if ids:
                report({"type": "images_added", "ids": ids})
        pending, last_flush = [], time.monotonic()

    done = 0
    with closing(_inspected(items)) as inspected:
        for image in inspected:
            if should_stop():
                summary.cancelled = True
                break
            done += 1
            pending.append(image)
            if len(pending) >= BATCH_FILES or time.monotonic() - last_flush >= BATCH_SECONDS:
                flush()
            throttle(progress(done, total, "Importing images…"))
    flush()  # what was already read is kept, also on cancel
    throttle(progress(done, total, "Importing images…"), force=True)
    summary.classes_created = [n for n in project.class_names() if n not in before]


def _counting(report: Report):
    throttle, count = Throttle(report), [0]

    def tick() -> None:  # the first pass only lists files: cheap, but a big tree still takes time
        count[0] += 1
        throttle(progress(count[0], None, "Counting files…"))
    return tick


def import_paths(project_path: str | os.PathLike, paths: Iterable[str | os.PathLike] | str,
                 report: Report, should_stop: ShouldStop) -> ImportSummary:
    """Imports dropped files and folders (see the module docstring for the class rule)."""
    if isinstance(paths, (str, bytes, os.PathLike)):
        paths = [paths]
    summary = ImportSummary()
    project = Project.open(project_path)
    try:
        report(progress(0, None, "Counting files…"))
        listing = walk_dropped([os.path.abspath(os.fsdecode(path)) for path in paths],
                               should_stop, _counting(report))
        summary.non_images = listing.non_images
        # A refused file (a pipe, a device) is still added, as unreadable with its reason
        # (_inspect tells it again without opening it), so the user sees it listed.
        items = [(found.path, found.label) for found in listing.found]
        if should_stop():
            summary.cancelled = True
            return summary
        _ingest(project, items, summary, report, should_stop)
    finally:
        project.close()
    return summary


def _row_problem(name: str, label: str | None, path: Path) -> str | None:
    """Why a CSV row cannot be used, or None."""
    if label is not None and any("\udc80" <= char <= "\udcff" for char in label):
        return "the label is not valid text"  # undecodable bytes cannot become a class name
    if not name:
        return "the path is empty"
    if not is_image_name(name):
        return f"{display_path(name)} is not an image file type"
    if not path.is_file():
        return f"there is no file {display_path(path)}"
    return None


def _csv_rows(csv_path: Path, summary: ImportSummary) -> list[tuple[str, str | None]]:
    """(absolute path, label) per usable row; bad rows go to `summary.bad_rows`."""
    items = []
    try:
        # surrogateescape: a non-UTF-8 file name in the CSV still finds its file on disk.
        with open(csv_path, newline="", encoding="utf-8-sig", errors="surrogateescape") as handle:
            reader = csv.reader(handle)
            for row in reader:
                cells = [c.strip() for c in row]
                if not any(cells) or reader.line_num == 1 and (
                        cells[0].lower() in HEADER_NAMES or cells[1:2] and cells[1].lower() in LABEL_NAMES):
                    continue  # a blank line or the header
                name, label = cells[0], (cells[1] if len(cells) > 1 else "") or None
                path = csv_path.parent / os.path.expanduser(name)
                problem = f"it has {len(cells)} columns; expected path,label" if len(cells) > 2 \
                    else _row_problem(name, label, path)
                if problem:
                    summary.bad_rows.append((reader.line_num, problem))
                else:
                    items.append((os.path.abspath(path), label))
    except (OSError, csv.Error) as exc:
        raise UserError(f"The list {display_path(csv_path.name)} cannot be read; check that it is "
                        "a CSV file with one “path,label” per line.", str(exc)) from exc
    return items


def import_csv(project_path: str | os.PathLike, csv_path: str | os.PathLike,
               report: Report, should_stop: ShouldStop) -> ImportSummary:
    """Imports the images a `path,label` CSV lists. The header is optional; relative paths
    are relative to the CSV's folder; an empty label means unlabeled."""
    summary = ImportSummary()
    project = Project.open(project_path)
    try:
        report(progress(0, None, "Reading the list…"))
        items = _csv_rows(Path(os.fsdecode(csv_path)), summary)
        _ingest(project, items, summary, report, should_stop)
    finally:
        project.close()
    return summary
