"""The on-disk thumbnail cache, keyed by an image's content hash.

Keyed by content, not path: a moved or relinked file keeps its thumbnail, and two copies of one
image share one. Files are sharded by the hash's first two characters (`ab/abcdef….jpg`) so no
folder grows to 50,000 entries. One cache folder per thumbnail size.

Thread-safe without locks: `make` writes a uniquely named temporary file and `os.replace`s it
into place (atomic), so concurrent makers of the same thumbnail both succeed and a reader never
sees half a JPEG, even if the app is killed mid-write.

Making a thumbnail is the first full decode of an image (import reads only its header), so a
truncated or damaged file is found here: `mark_unreadable` records it in the project, so that
the status bar, the preflight and training all count it as unreadable, with its reason.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path

from mbv2gui.core.errors import UserError
from mbv2gui.core.files.images import ImageError, display_path, load_pil
from mbv2gui.core.store.project import Project

JPEG_QUALITY = 85


class ThumbnailCache:
    def __init__(self, folder: str | os.PathLike, size: int = 160):
        self.folder = Path(folder)
        self.size = int(size)

    def path_for(self, content_hash: str) -> Path:
        if not isinstance(content_hash, str) or len(content_hash) < 3 or not content_hash.isalnum():
            # A hash is hex; anything else (a path, "..") must not address files elsewhere.
            raise ValueError(f"not a content hash: {content_hash!r}")
        return self.folder / content_hash[:2] / f"{content_hash}.jpg"

    def cached(self, content_hash: str) -> Path | None:
        """The thumbnail's path if it was made before, else None: one stat, no decoding."""
        path = self.path_for(content_hash)
        return path if path.is_file() else None

    def make(self, image_path: str | os.PathLike, content_hash: str) -> Path:
        """Decodes the image (JPEG draft mode: at 1/2..1/8 scale when that is enough), fits it in
        size×size and stores it as JPEG. Raises `ImageError` for a file that is not usable."""
        target = self.path_for(content_hash)
        image = load_pil(image_path, max_side=self.size)
        image.thumbnail((self.size, self.size))
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=".jpg", dir=target.parent)
        try:
            with os.fdopen(handle, "wb") as stream:
                image.save(stream, "JPEG", quality=JPEG_QUALITY)
            os.replace(temporary, target)
        except BaseException:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise
        return target

    def get(self, image_path: str | os.PathLike, content_hash: str) -> Path:
        """The cached thumbnail, made first if needed."""
        return self.cached(content_hash) or self.make(image_path, content_hash)


def make_thumbnails(folder: str | os.PathLike, size: int, batch: list[tuple[str, str]],
                    report, should_stop) -> list[tuple[str, str | None]]:
    """A job: the thumbnails of (path, content hash) pairs, made where missing; each pair comes
    back with its thumbnail's path, or None for an image that cannot be shown."""
    cache, made = ThumbnailCache(folder, size), []
    for path, content_hash in batch:
        if should_stop():
            break
        try:
            made.append((path, str(cache.get(path, content_hash))))
        except (ImageError, ValueError):
            made.append((path, None))
    return made


def mark_unreadable(project_path: str | os.PathLike, content_hash: str,
                    error: ImageError) -> list[int]:
    """Records that the image with this content was found unusable when it was decoded (its
    thumbnail failed): status "unreadable" with the error's reason. Opens its own connection,
    so any thread may call it. Returns the ids whose status changed: none if the image is not
    in the project or was already marked, or if the file could not be *read* at all (missing,
    no permission: a matter of the file's place, which the check on open follows, not of its
    content)."""
    if error.is_access_problem:
        return []
    try:
        project = Project.open(project_path)
        try:
            image_id = project.find_by_hash(content_hash)
            record = project.image(image_id) if image_id is not None else None
            if record is None or record.status != "ok":
                return []
            project.set_status({record.id: ("unreadable", error.reason)})
            return [record.id]
        finally:
            project.close()
    except sqlite3.Error as exc:
        name = display_path(os.path.basename(error.path))
        raise UserError(f"The project could not record that {name} cannot be read.",
                        str(exc)) from exc
