"""The gallery's one fast read: every image as a light tuple, in a single query.

`Project.images()` builds a dataclass and decodes the path of every row; the gallery holds
50,000 rows in memory and must load them in well under a second, so it reads only the columns
it shows, as named tuples made straight from the cursor, and decodes a path only when a tile
is painted. Kept apart from project.py so the store's API stays small; it reads the same
connection, through `Project.select`.
"""

from __future__ import annotations

import gc
import os
from typing import NamedTuple

from mbv2gui.core.store.project import Project

# Statuses the "Unreadable" filter gathers: the file cannot be shown or trained on.
PROBLEM_STATUSES = frozenset({"unreadable", "missing"})


class GalleryRow(NamedTuple):
    id: int
    raw_path: bytes      # as stored; decoded only for the few rows on screen
    content_hash: str | None
    class_id: int | None
    split: str
    status: str
    reason: str | None
    excluded: int        # 0 or 1

    @property
    def path(self) -> str:
        return os.fsdecode(self.raw_path)

    @property
    def name(self) -> str:
        """The file name, for the tile's caption."""
        return os.path.basename(self.path)


_COLUMNS = "id, path, content_hash, class_id, split, status, reason, excluded"
_make = GalleryRow._make


def image_rows(project: Project, ids: list[int] | None = None) -> list[GalleryRow]:
    """All images in id order (the order they were added), or the given ones (ids that are
    no longer in the project are left out, so a caller can tell removed rows apart)."""
    if ids is None:
        # 50,000 new tuples set off several garbage collections that can find nothing to
        # free (tuples of str/int/bytes form no cycles); pausing the collector saves ~30%.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return list(map(_make, project.select(f"SELECT {_COLUMNS} FROM images ORDER BY id")))
        finally:
            if was_enabled:
                gc.enable()
    rows = []
    for start in range(0, len(ids), 500):  # SQLite limits the number of bound parameters
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        rows.extend(map(_make, project.select(
            f"SELECT {_COLUMNS} FROM images WHERE id IN ({marks}) ORDER BY id", chunk)))
    return rows


def image_ids_with_status(project_path: str, statuses: list[str], among: list[int] | None = None,
                          *, report, should_stop) -> list[int]:
    """A job: the ids of images whose status is one of `statuses` (optionally among some ids).
    Runs in the worker with its own connection, since it reads every row."""
    project = Project.open(project_path)
    try:
        wanted = set(statuses)
        return [image.id for image in project.images(among) if image.status in wanted]
    finally:
        project.close()
