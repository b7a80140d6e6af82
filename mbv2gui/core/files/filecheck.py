"""The check on open: is every image still where it was, with the same content?

Images are referenced where they lie, so files can move, vanish or change behind our back.
A job (`check_files(project_path, report, should_stop) -> dict`) that flags them instead of
dropping them:
  - the file is gone                         -> status 'missing' (with the reason)
  - size or mtime differ, content differs    -> 'changed' (the stored hash is kept, so putting
                                                the old file back makes it 'ok' again)
  - size or mtime differ, content the same   -> new size/mtime stored (a copy or a touch)
  - a missing or changed file is back        -> 'ok' (or 'unreadable' if it cannot be read)
Cheap when nothing changed: one stat per image, no reading, no writing.

Returns {"checked": int, "counts": {status: int, ...} (after the check), "missing": [ids],
"changed": [ids], "restored": [ids], "cancelled": bool}.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mbv2gui.core.files.images import ImageError, content_hash, image_info
from mbv2gui.core.jobs import Report, ShouldStop, Throttle, progress
from mbv2gui.core.store.project import ImageRecord, Project

MISSING = "the file is missing (it was moved, renamed or deleted)"
CHANGED = "the file changed on disk after it was imported (its content is different)"
UNHASHED = "it could not be read when it was imported; remove it and import it again"
WORKERS = min(4, (os.cpu_count() or 1) + 1)


def _look(record: ImageRecord, size: int, mtime: float) -> tuple[str, str | None, bool]:
    """(status, reason, content unchanged) for a file that is present but needs reading."""
    try:
        digest = content_hash(record.path)
    except ImageError as exc:
        return "unreadable", exc.reason, False
    if record.content_hash is None:
        return "unreadable", UNHASHED, False
    if digest != record.content_hash:
        return "changed", CHANGED, False
    try:
        image_info(record.path)
    except ImageError as exc:
        return "unreadable", exc.reason, True
    return "ok", None, True


def check_files(project_path: str | os.PathLike, report: Report,
                should_stop: ShouldStop) -> dict:
    project = Project.open(project_path)
    try:
        return _check(project, report, should_stop)
    finally:
        project.close()


def _check(project: Project, report: Report, should_stop: ShouldStop) -> dict:
    throttle = Throttle(report)
    records = project.images()
    total = len(records)
    statuses: dict[int, tuple[str, str | None]] = {}
    to_read: list[tuple[ImageRecord, int, float]] = []
    cancelled = False
    for done, record in enumerate(records):
        if should_stop():
            cancelled = True
            break
        throttle(progress(done, total, "Checking the image files…"))
        try:
            info = os.stat(record.path)
        except OSError:
            if record.status != "missing":
                statuses[record.id] = ("missing", MISSING)
            continue
        same = info.st_size == record.size and info.st_mtime == record.mtime
        if not same or record.status in ("missing", "changed"):
            to_read.append((record, info.st_size, info.st_mtime))

    stats: dict[int, tuple[int, float]] = {}
    if to_read and not cancelled:
        # Re-hashing is the slow part (only for files that look different): a few threads.
        with ThreadPoolExecutor(WORKERS, thread_name_prefix="filecheck") as pool:
            futures = [pool.submit(_look, *item) for item in to_read]
            for done, ((record, size, mtime), future) in enumerate(zip(to_read, futures)):
                if should_stop():
                    cancelled = True
                    for rest in futures:
                        rest.cancel()
                    break
                status, reason, unchanged = future.result()
                throttle(progress(done, len(to_read), "Reading the files that changed…"))
                if (status, reason) != (record.status, record.reason):
                    statuses[record.id] = (status, reason)
                if unchanged and (size, mtime) != (record.size, record.mtime):
                    stats[record.id] = (size, mtime)

    # Whatever was found is written, also when cancelled: each finding stands on its own.
    if statuses:
        project.set_status(statuses)
    if stats:
        project.set_file_stats(stats)
    throttle(progress(total, total, "Checking the image files…"), force=True)
    before = {r.id: r.status for r in records}
    restored = [i for i, (s, _) in statuses.items() if s == "ok" and before[i] != "ok"]
    return {
        "checked": total,
        "counts": project.status_counts(),
        "missing": [i for i, (s, _) in statuses.items() if s == "missing"]
        + [r.id for r in records if r.status == "missing" and r.id not in statuses],
        "changed": [i for i, (s, _) in statuses.items() if s == "changed"]
        + [r.id for r in records if r.status == "changed" and r.id not in statuses],
        "restored": restored,
        "cancelled": cancelled,
    }


def find_relink(missing_path: str, new_folder: str) -> tuple[str, str] | None:
    """The (old folder, new folder) pair that makes `missing_path` exist again under
    `new_folder`, matching as much of its path as possible; None if nothing matches."""
    parts = Path(missing_path).parts
    for start in range(1, len(parts)):
        if Path(new_folder, *parts[start:]).exists():
            return str(Path(*parts[:start])), new_folder
    return None


def relink_and_check(project_path: str, old: str, new: str, *, report, should_stop):
    """A job: point images under `old` to `new`, then re-check every file."""
    project = Project.open(project_path)
    try:
        count = project.relink(old, new)
    finally:
        project.close()
    return count, check_files(project_path, report=report, should_stop=should_stop)
