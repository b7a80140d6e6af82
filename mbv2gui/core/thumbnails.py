"""The on-disk thumbnail cache, keyed by an image's content hash.

Keyed by content, not path: a moved or relinked file keeps its thumbnail, and two copies of one
image share one. Files are sharded by the hash's first two characters (`ab/abcdef….jpg`) so no
folder grows to 50,000 entries. One cache folder per thumbnail size.

Thread-safe without locks: `make` writes a uniquely named temporary file and `os.replace`s it
into place (atomic), so concurrent makers of the same thumbnail both succeed and a reader never
sees half a JPEG, even if the app is killed mid-write.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from mbv2gui.core.images import load_pil

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
