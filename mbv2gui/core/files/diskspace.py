"""Space on disk: checked before a job writes, and said in words when a write is refused.

    ensure_free(path, needed_bytes, action)       raises a UserError up front if it cannot fit
    with said_in_words(path, action, needed):      an OSError from a refused write (full disk,
        ...                                        quota, read-only, not allowed) becomes the
                                                   one sentence of errors.disk_error

A job checks first so that a full disk is told before minutes of work, not after; the check is
an estimate, so every write is still wrapped: the disk may fill while the job runs.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

from mbv2gui.core.errors import (MOVE_ADVICE, UserError, disk_error, disk_full_message,
                                 free_bytes, is_disk_error)

# Kept free on top of a job's estimate: other programs write too, and a disk filled to the last
# byte makes everything on it fail (a database's journal, the app's own settings).
RESERVE_BYTES = 20_000_000


def ensure_free(path, needed_bytes: int, action: str, advice: str = MOVE_ADVICE) -> None:
    """Raises the disk-full sentence now if the disk holding `path` lacks `needed_bytes` (plus
    a small reserve). An unknown free space (a network disk that does not say) passes."""
    free = free_bytes(path)
    if free is not None and free < int(needed_bytes) + RESERVE_BYTES:
        raise UserError(disk_full_message(path, action, int(needed_bytes) + RESERVE_BYTES, free,
                                          advice),
                        f"{free} bytes free, {int(needed_bytes)} estimated + {RESERVE_BYTES} "
                        f"kept in reserve, on {os.fspath(path)}")


@contextmanager
def said_in_words(path, action: str, needed: int | None = None, advice: str = MOVE_ADVICE):
    """Turns a write the disk refused into the one sentence; other errors pass unchanged."""
    try:
        yield
    except OSError as exc:
        if is_disk_error(exc):
            raise disk_error(exc, path, action, needed, advice) from exc
        raise


def pixel_cache_bytes(count: int, image_size: int) -> int:
    """The decoded-pixels file training from scratch or fine-tuning writes (uint8 RGB)."""
    return int(count) * int(image_size) ** 2 * 3 + 4096


def model_file_bytes(parameters: int) -> int:
    """A saved .keras file: float32 weights, plus the zip's config and a margin."""
    return int(parameters) * 4 * 11 // 10 + 1_000_000
