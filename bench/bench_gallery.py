"""Opens the Label view on a 50,000-image project offscreen and measures what a person feels:
the time to first paint, and GUI-thread stalls while scrolling through the whole gallery.
Prints JSON.

    python bench/bench_gallery.py                     # /tmp/mbv2gui-bench-gallery, 50,000 images
    python bench/bench_gallery.py /tmp/g -n 5000 --cold

The project comes from bench/make_big_project.py (the real importer) when that script exists,
else from a quick generator here; it is reused on the next run when it has the right size.
`--cold` deletes the thumbnail cache first (every thumbnail is made while scrolling).

Stalls: a 5 ms QTimer heartbeat runs on the GUI thread while a second timer scrolls one screen
every 16 ms; the gaps between heartbeats are how long the GUI thread was busy. First paint: from
just before `LabelView(context)` (which reads every row) to the end of the gallery viewport's
first paint with rows in it (the visible thumbnails have been requested by then).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MBV2GUI_SETTINGS_DIR", "/tmp/mbv2gui-bench-settings")

from PySide6.QtCore import QElapsedTimer, QEvent, QObject, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

import mbv2gui.gui  # noqa: E402,F401  (the PySide guard)
from mbv2gui.core.store.queries import image_rows  # noqa: E402
from mbv2gui.core.files.images import content_hash  # noqa: E402
from mbv2gui.core.store.project import NewImage, Project  # noqa: E402


def quick_project(folder: Path, count: int) -> Path:
    """Tiny PNGs added straight to the store (used when make_big_project.py is absent)."""
    from PIL import Image

    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    new = []
    for i in range(count):
        path = images / f"img_{i:06}.png"
        if not path.exists():
            Image.new("RGB", (32, 32), (i % 256, i // 256 % 256, i // 65536 * 40)).save(path)
        stat = path.stat()
        new.append(NewImage(str(path), stat.st_size, stat.st_mtime, content_hash(path), 32, 32,
                            label=f"class_{i % 5}" if i % 3 else None))
    project_path = folder / "bench.mbv2"
    project = Project.create(project_path)
    project.add_images(new)
    project.close()
    return project_path


def ensure_project(folder: Path, count: int) -> tuple[Path, str]:
    project_path = folder / "bench.mbv2"
    if project_path.exists():
        project = Project.open(project_path)
        size = project.image_count()
        project.close()
        if size == count:
            return project_path, "reused"
    maker = Path(__file__).with_name("make_big_project.py")
    if maker.exists():
        sys.path.insert(0, str(maker.parent))
        import make_big_project

        with contextlib.redirect_stdout(io.StringIO()):  # our JSON is the only output
            make_big_project.main([str(folder), "-n", str(count)])
        return project_path, "make_big_project"
    shutil.rmtree(folder, ignore_errors=True)
    return quick_project(folder, count), "quick generator"


class FirstPaint(QObject):
    def __init__(self, view, clock: QElapsedTimer):
        super().__init__()
        self.view, self.clock, self.ms = view, clock, None

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Paint and self.ms is None and self.view.model.rowCount():
            # Measured once the paint has run: the next turn of the event loop.
            QTimer.singleShot(0, self._painted)
            self.ms = -1.0
        return False

    def _painted(self) -> None:
        self.ms = self.clock.nsecsElapsed() / 1e6


def wait(app, condition, timeout_s: float) -> bool:
    deadline = time.perf_counter() + timeout_s
    while not condition() and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.001)
    return condition()


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, nargs="?", default=Path("/tmp/mbv2gui-bench-gallery"))
    parser.add_argument("-n", "--count", type=int, default=50_000)
    parser.add_argument("--cold", action="store_true", help="empty the thumbnail cache first")
    parser.add_argument("--screens", type=int, default=0, help="scroll only this many screens")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    project_path, source = ensure_project(args.folder, args.count)
    prepare_s = time.perf_counter() - start

    from mbv2gui.gui.shell.context import AppContext
    from mbv2gui.gui.label.label_view import LabelView
    from mbv2gui.gui.common.thumbnail_loader import thumbnail_folder

    app = QApplication.instance() or QApplication([])
    project = Project.open(project_path)
    if args.cold:
        shutil.rmtree(thumbnail_folder(project), ignore_errors=True)
    cached_before = sum(len(files) for _, _, files in os.walk(thumbnail_folder(project)))
    start = time.perf_counter()
    rows = image_rows(project)
    query_ms = (time.perf_counter() - start) * 1000
    context = AppContext()
    context.set_project(project)

    clock = QElapsedTimer()
    clock.start()
    view = LabelView(context)
    construct_ms = clock.nsecsElapsed() / 1e6
    probe = FirstPaint(view, clock)
    view.gallery.viewport().installEventFilter(probe)
    view.resize(1280, 800)
    view.show()
    wait(app, lambda: probe.ms is not None and probe.ms > 0, 30)
    screen = list(view.gallery.visible_rows())
    wait(app, lambda: all(view.loader.pixmap(rows_hash, "") is not None for rows_hash in
                          [view.model.image_row(r).content_hash for r in screen]), 60)
    first_screen_ms = clock.nsecsElapsed() / 1e6

    # Scroll through everything, one screen per 16 ms, with a 5 ms heartbeat measuring gaps.
    gaps, last = [], [time.perf_counter()]
    heartbeat = QTimer()
    heartbeat.setTimerType(Qt.TimerType.PreciseTimer)
    heartbeat.setInterval(5)

    def beat():
        now = time.perf_counter()
        gaps.append((now - last[0]) * 1000)
        if os.environ.get("BENCH_TRACE") and gaps[-1] > 50:
            print(f"stall {gaps[-1]:.0f} ms at {now - start:.2f} s, tick {state['ticks']}",
                  file=sys.stderr)
        last[0] = now
    heartbeat.timeout.connect(beat)
    bar = view.gallery.verticalScrollBar()
    state = {"done": False, "steady": 0, "ticks": 0}

    def scroll():
        state["ticks"] += 1
        if bar.value() >= bar.maximum() or (args.screens and state["ticks"] > args.screens):
            state["steady"] += 1  # batched layout may still be growing the range
            state["done"] = state["steady"] > 10
        else:
            state["steady"] = 0
            bar.setValue(min(bar.maximum(), bar.value() + bar.pageStep()))
    scroller = QTimer()
    scroller.setInterval(16)
    scroller.timeout.connect(scroll)
    # The machine's own noise first: the same heartbeat for 3 s with the view idle (other
    # processes on a busy 2-core box delay the GUI thread too).
    start = last[0] = time.perf_counter()
    heartbeat.start()
    wait(app, lambda: time.perf_counter() - start > 3, 5)
    idle = sorted(gaps)
    gaps.clear()
    made_before = view.loader.made
    start = time.perf_counter()
    last[0] = start
    scroller.start()
    wait(app, lambda: state["done"], 600)
    scroll_s = time.perf_counter() - start
    heartbeat.stop()
    scroller.stop()
    last_rows = list(view.gallery.visible_rows())

    # Keyboard labeling: each key press is an undo command, a committed transaction and an
    # incremental model update.
    from PySide6.QtTest import QTest
    view.gallery.setFocus()
    view.gallery.setCurrentIndex(view.model.index(0))
    key_ms = []
    for _ in range(50):
        begin = time.perf_counter()
        QTest.keyClick(view.gallery, Qt.Key.Key_1)
        key_ms.append((time.perf_counter() - begin) * 1000)
    for _ in range(50):
        context.undo_stack.undo()

    ordered = sorted(gaps)
    result = {
        "images": len(rows),
        "project_source": source,
        "prepare_seconds": round(prepare_s, 1),
        "thumbnails_on_disk_before": cached_before,
        "row_query_ms": round(query_ms, 1),
        "construct_view_ms": round(construct_ms, 1),
        "first_paint_ms": round(probe.ms, 1),
        "first_screen_thumbnails_ms": round(first_screen_ms, 1),
        "first_screen_tiles": len(screen),
        "scroll_seconds": round(scroll_s, 2),
        "scroll_ticks": state["ticks"],
        "rows_reached": last_rows[-1] + 1 if last_rows else 0,
        "heartbeats": len(gaps),
        "heartbeat_interval_ms": 5,
        "stall_max_ms": round(ordered[-1], 1) if ordered else None,
        "stall_p99_ms": round(ordered[int(len(ordered) * 0.99)], 1) if ordered else None,
        "stall_median_ms": round(statistics.median(ordered), 1) if ordered else None,
        "stalls_over_50ms": sum(1 for gap in ordered if gap > 50),
        "idle_stall_max_ms": round(idle[-1], 1) if idle else None,
        "idle_stall_p99_ms": round(idle[int(len(idle) * 0.99)], 1) if idle else None,
        "stalls_over_100ms": sum(1 for gap in ordered if gap > 100),
        "thumbnails_made_while_scrolling": view.loader.made - made_before,
        "label_key_ms_median": round(statistics.median(key_ms), 2),
        "label_key_ms_max": round(max(key_ms), 2),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        # Other work on the machine steals the GUI thread's core: read the stalls with this.
        "cpu_count": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "thumbnail_threads": view.loader._threads,
    }
    view.loader.shutdown()
    view.preview.shutdown()
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
