"""The one shape every long job has: `job(inputs..., report, should_stop) -> result`.

`report(event)` takes a small plain-data dict. Every event has a "type":
  - {"type": "progress", "done": int, "total": int | None, "message": str}
  - {"type": "message", "text": str, "level": "info" | "warning" | "error"}
  - any job-specific type (training uses "phase", "batch", "epoch"), documented by that job.
`should_stop()` is polled; when it returns True the job ends cleanly within about a second,
either returning what it has (training keeps its best model) or raising `JobCancelled`.

The GUI runs such functions in one generic worker (mbv2gui.gui.shell.jobrunner) that turns events into
Qt signals; the CLI runs them with a text progress bar (mbv2gui.commands.progress).
"""

from __future__ import annotations

import time
from typing import Any, Callable

Event = dict[str, Any]
Report = Callable[[Event], None]
ShouldStop = Callable[[], bool]


def ignore_events(event: Event) -> None:
    """A `report` for callers that do not care about progress."""


def never_stop() -> bool:
    """A `should_stop` for callers that never cancel."""
    return False


class Throttle:
    """Lets an event through at most `per_second` times a second (the last one always passes
    when `force=True`), so a fast loop does not flood the GUI with signals."""

    def __init__(self, report: Report, per_second: float = 5.0):
        self._report = report
        self._interval = 1.0 / per_second
        self._last = 0.0

    def __call__(self, event: Event, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last >= self._interval:
            self._last = now
            self._report(event)


def progress(done: int, total: int | None, message: str = "") -> Event:
    return {"type": "progress", "done": done, "total": total, "message": message}


def message(text: str, level: str = "info") -> Event:
    return {"type": "message", "text": text, "level": level}



def left_out(sentences: list[str], limit: int = 5) -> Event:
    """A warning naming the files a job left out: `sentences` are their errors' messages (each
    names its file and says why; see images.ImageError), the first `limit` quoted. One bad file
    costs only itself, and the user learns which it was and why."""
    more = f" (and {len(sentences) - limit} more)" if len(sentences) > limit else ""
    return message(f"{len(sentences)} image(s) could not be read and were left out: "
                   f"{' '.join(sentences[:limit])}{more}", "warning")
