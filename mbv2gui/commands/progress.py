"""Any core job in a terminal: a one-line progress bar on stderr for its events.

`ProgressPrinter()(event)` draws progress/batch events on one line (redrawn in place on a
terminal, a line every few seconds otherwise) and prints phases, epochs and messages on their
own lines. `run_job(job, *args, **kwargs)` runs a job with it; the first Ctrl-C asks the job
to stop cleanly (a training keeps its best model), a second one interrupts.
"""

from __future__ import annotations

import signal
import sys
import time


class ProgressPrinter:
    def __init__(self, stream=None, width: int = 30):
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._open_line = False
        self._last = 0.0

    def __call__(self, event: dict) -> None:
        kind = event.get("type")
        if kind == "progress":
            self._bar(event.get("done", 0), event.get("total"), event.get("message", ""))
        elif kind == "batch":
            eta = event.get("eta_seconds")
            text = (f"{event['phase']} epoch {event['epoch']} loss {event['loss']:.3f} "
                    f"acc {event['accuracy']:.3f} {event['images_per_second']:.0f} img/s"
                    + (f" ETA {_duration(eta)}" if eta is not None else ""))
            self._bar(event["step"], event["steps"], text)
        elif kind == "epoch":
            val = ("" if event.get("val_accuracy") is None else
                   f" val_loss {event['val_loss']:.3f} val_acc {event['val_accuracy']:.3f}")
            self._line(f"{event['phase']} epoch {event['epoch']}/{event['epochs']}: loss "
                       f"{event['loss']:.3f} acc {event['accuracy']:.3f}{val} "
                       f"({event['seconds']:.1f} s)")
        elif kind == "phase":
            self._line(f"== {event.get('message') or event.get('phase')}")
        elif kind == "message":
            level = event.get("level", "info")
            self._line(("" if level == "info" else f"{level}: ") + event.get("text", ""))

    def _bar(self, done, total, text) -> None:
        now = time.monotonic()
        final = total is not None and done >= total
        if not self.tty and not final and now - self._last < 5.0:
            return  # a log file gets a line every few seconds, not a flood
        self._last = now
        if total:
            filled = int(self.width * min(1.0, done / total))
            bar = f"[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} "
        else:
            bar = f"{done} "
        if self.tty:
            self.stream.write("\r\x1b[2K" + bar + text)
            self._open_line = True
        else:
            self.stream.write(bar + text + "\n")
        self.stream.flush()

    def _line(self, text: str) -> None:
        self.close()
        self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self._open_line:
            self.stream.write("\n")
            self._open_line = False


def run_job(job, *args, quiet: bool = False, stream=None, **kwargs):
    """Runs `job(*args, report, should_stop, **kwargs)` with a progress bar (or none when
    `quiet`, except warnings and errors) and returns its result."""
    printer = ProgressPrinter(stream)
    stop = {"asked": False}

    def report(event: dict) -> None:
        if not quiet or (event.get("type") == "message" and event.get("level") != "info"):
            printer(event)

    def on_interrupt(signum, frame):
        if stop["asked"]:
            raise KeyboardInterrupt
        stop["asked"] = True
        printer._line("Stopping after this batch (press Ctrl-C again to abort)…")

    previous = None
    try:
        previous = signal.signal(signal.SIGINT, on_interrupt)
    except ValueError:  # not the main thread: no signal handling
        pass
    try:
        return job(*args, report, lambda: stop["asked"], **kwargs)
    finally:
        printer.close()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds < 3600 else \
        f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
