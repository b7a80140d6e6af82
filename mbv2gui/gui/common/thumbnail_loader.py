"""Thumbnails for the gallery, made and read off the GUI thread.

The model asks `pixmap(content_hash, path)` while the view paints: a hit is a dict lookup, a
miss returns None (the delegate draws a placeholder) and queues the image. A zero-delay timer
then hands the queue, newest first, to a small QThreadPool: each runnable reads the disk cache
(`core.thumbnails.ThumbnailCache`, keyed by content) or makes the thumbnail, decodes it into a
QImage (QImage is safe off the GUI thread; QPixmap is not) and signals back. The GUI thread
only turns the QImage into a QPixmap and keeps it in a memory-bounded LRU.

Scrolling fast asks for thousands of tiles that are gone a frame later, so after each paint the
queue is cut down to what the view still shows (`set_visible_hashes`), and the runners take the
newest request first: stale requests are dropped, not decoded.

Making a thumbnail is an image's first full decode: a file found broken then (a truncated JPEG
passes import, which reads only the header) is marked unreadable in the project by the pool
thread (`core.thumbnails.mark_unreadable`, its own connection), and `imagesMarked` tells the
window, so the status bar, the preflight and training agree.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, QRunnable, QThread, QThreadPool, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap

from mbv2gui.core.errors import UserError
from mbv2gui.core.files.images import ImageError
from mbv2gui.core.files.thumbnails import ThumbnailCache, mark_unreadable
from mbv2gui.core.store.sidecar import thumbnails_folder

THUMBNAIL_PX = 160  # the cache size every view shares (see review_gallery.THUMB_CACHE_PX)
MEMORY_BUDGET = 96 * 1024 * 1024  # bytes of decoded pixmaps kept in memory


class Unreadable:
    """Returned instead of a pixmap for a file that cannot be shown; carries the reason."""

    def __init__(self, reason: str):
        self.reason = reason


def thumbnail_folder(project) -> Path:
    # Per size, as the review galleries use it, so both share one cache on disk.
    return thumbnails_folder(project.path, THUMBNAIL_PX)


def _size(pixmap: QPixmap) -> int:
    return pixmap.width() * pixmap.height() * max(1, pixmap.depth() // 8)


class _Signals(QObject):
    # generation, content hash, image, failure reason, ids just marked unreadable
    done = Signal(int, str, QImage, str, list)


class _Runner(QRunnable):
    """Drains the loader's queue, newest request first, then ends. Starting a runnable costs
    the GUI thread about a millisecond, so a few runners serve many thumbnails each."""

    def __init__(self, loader: "ThumbnailLoader"):
        super().__init__()
        self.loader = loader

    def run(self) -> None:  # a pool thread
        while (job := self.loader._take()) is not None:
            generation, cache, project_path, content_hash, path = job
            reason, image, marked = "", QImage(), []
            try:
                file = cache.cached(content_hash) or cache.make(path, content_hash)
                image = QImage(str(file))
                if image.isNull():
                    reason = "the thumbnail could not be decoded"
            except ImageError as exc:
                reason = exc.reason
                marked = self._mark(project_path, content_hash, exc)
            except (OSError, ValueError) as exc:  # a full disk, a read-only sidecar, a bad hash
                reason = str(exc)
            self.loader._signals.done.emit(generation, content_hash, image, reason, marked)

    @staticmethod
    def _mark(project_path, content_hash: str, error: ImageError) -> list[int]:
        try:
            return mark_unreadable(project_path, content_hash, error)
        except UserError:
            return []  # the tile still says why; training will find the file again


class ThumbnailLoader(QObject):
    ready = Signal(str)  # the content hash whose thumbnail (or failure) just arrived
    imagesMarked = Signal(list)  # ids of images just found unreadable (status changed)

    def __init__(self, parent: QObject | None = None, threads: int | None = None):
        super().__init__(parent)
        # Leave a core to the GUI thread: on a 2-core laptop two decoders beside it made
        # scrolling stutter, and a thumbnail arriving 50 ms later is not noticed.
        threads = threads or max(1, min(4, QThread.idealThreadCount() - 1))
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._threads = threads
        self._signals = _Signals(self)
        self._signals.done.connect(self._on_done)
        self._cache: ThumbnailCache | None = None
        self._project_path = None
        self._generation = 0
        self._pixmaps: OrderedDict[str, QPixmap] = OrderedDict()  # GUI thread only
        self._bytes = 0
        self._failed: dict[str, Unreadable] = {}
        # Shared with the runners, under the lock: what to make, what is being made.
        self._lock = threading.Lock()
        self._queue: OrderedDict[str, str] = OrderedDict()  # hash -> path, newest last
        self._in_flight: set[str] = set()
        self._runners = 0
        self._visible: Callable[[], set[str] | None] = lambda: None
        self._dispatch_timer = QTimer(self)
        self._dispatch_timer.setSingleShot(True)
        self._dispatch_timer.setInterval(0)  # after the paint that asked, not inside it
        self._dispatch_timer.timeout.connect(self._dispatch)
        self.made = 0  # thumbnails delivered (for benches and tests)

    # ----------------------------------------------------------------- set-up
    def set_project(self, project) -> None:
        """Forgets everything; results of work still running for the old project are ignored."""
        with self._lock:
            self._generation += 1
            self._queue.clear()
            self._in_flight.clear()
            self._cache = ThumbnailCache(thumbnail_folder(project), THUMBNAIL_PX) if project else None
            self._project_path = project.path if project else None
        self._pixmaps.clear()
        self._bytes = 0
        self._failed.clear()

    def set_visible_hashes(self, visible: Callable[[], set[str] | None]) -> None:
        """A function giving the hashes the view shows now (None: keep every request)."""
        self._visible = visible

    def shutdown(self) -> None:
        with self._lock:
            self._queue.clear()
        self._pool.waitForDone(3000)

    # ----------------------------------------------------------------- lookups (GUI thread)
    def pixmap(self, content_hash: str | None, path: str) -> QPixmap | Unreadable | None:
        if not content_hash:
            return Unreadable("the file was never read")
        pixmap = self._pixmaps.get(content_hash)
        if pixmap is not None:
            self._pixmaps.move_to_end(content_hash)
            return pixmap
        failed = self._failed.get(content_hash)
        if failed is not None:
            return failed
        with self._lock:
            if self._cache is not None and content_hash not in self._in_flight:
                self._queue[content_hash] = path
                self._queue.move_to_end(content_hash)  # asked again: the eye is on it now
        if not self._dispatch_timer.isActive():
            self._dispatch_timer.start()
        return None

    def forget(self, content_hash: str) -> None:
        """Drops a failure so the next look tries again (after a file was fixed or relinked)."""
        self._failed.pop(content_hash, None)

    def pending(self) -> int:
        with self._lock:
            return len(self._queue) + len(self._in_flight)

    # ----------------------------------------------------------------- work
    def _dispatch(self) -> None:
        """Drops requests for tiles scrolled away, and starts runners if too few are at work."""
        visible = self._visible()
        with self._lock:
            if visible is not None:
                for stale in [h for h in self._queue if h not in visible]:
                    del self._queue[stale]
            wanted = min(self._threads - self._runners, len(self._queue))
            self._runners += max(0, wanted)
        for _ in range(wanted):
            self._pool.start(_Runner(self))

    def _take(self):  # a pool thread: the next job, or None (and the runner ends)
        with self._lock:
            if not self._queue or self._cache is None:
                self._runners -= 1
                return None
            content_hash, path = self._queue.popitem(last=True)  # newest: what the eye is on
            self._in_flight.add(content_hash)
            return self._generation, self._cache, self._project_path, content_hash, path

    def _on_done(self, generation: int, content_hash: str, image: QImage, reason: str,
                 marked: list) -> None:
        with self._lock:
            if generation != self._generation:
                return
            self._in_flight.discard(content_hash)
        if marked:
            self.imagesMarked.emit(marked)
        if reason:
            self._failed[content_hash] = Unreadable(reason)
        else:
            pixmap = QPixmap.fromImage(image)
            self._pixmaps[content_hash] = pixmap
            self._bytes += _size(pixmap)
            while self._bytes > MEMORY_BUDGET and len(self._pixmaps) > 1:
                self._bytes -= _size(self._pixmaps.popitem(last=False)[1])
        self.made += 1
        self.ready.emit(content_hash)
