"""The one worker every long job runs in: import, file check, training, prediction, export.

A job is a plain core function `fn(*args, report, should_stop, **kwargs) -> result`
(see mbv2gui.core.jobs). `JobRunner.start(fn, ...)` runs it on its own QThread and returns a
`Job` whose signals arrive on the GUI thread:

    progress(done: int, total: int | None, message: str)   # for "progress" events
    event(dict)                                            # every event, in order
    finished(object result) | failed(str message, str detail) | cancelled()   # exactly one

Why the events go through a queue instead of one signal per `report()` call: a job that
reports 100,000 times a second would bury the GUI thread in queued signals. Here the worker
only appends to a deque (consecutive progress events collapse into the newest), and the GUI
thread drains it on a short timer, within a time budget, so the window stays responsive
whatever the job does. The worker never touches a widget.

`JobRunner.start_in_engine(fn, ...)` is the same for TensorFlow jobs, whose function then runs
in the engine process (mbv2gui.core.engine): the worker thread only relays its events, so the
window never imports TensorFlow and a crash there ends as `failed` with a sentence. Its
arguments and result must be plain picklable data, and `fn` a module-level function.

Do not capture a Job in a lambda connected to its own signals (the connection would keep the
Job alive forever); capture what you need from it, or use a bound method of your widget.
"""

from __future__ import annotations

import threading
import time
import traceback
import weakref
from collections import deque
from typing import Any, Callable

from PySide6.QtCore import QObject, QThread, QTimer, Qt, Signal

from mbv2gui.core.errors import JobCancelled, UserError

# How long events may wait before the GUI sees them, and how long one drain may take.
DRAIN_DELAY_MS = 30
DRAIN_BUDGET_S = 0.025
# A job that reports faster than the GUI can take waits in `report()` once this many events
# are queued, so memory stays bounded and Cancel is not stuck behind a million old events.
MAX_QUEUED = 5000

_END = "__job_end__"  # the last item a worker queues: (_END, kind, payload)


class _JobThread(QThread):
    """Runs one job function; everything it learns goes into the Job's queue."""

    def __init__(self, job: "Job"):
        super().__init__()
        self._job = job

    def run(self) -> None:  # worker thread
        self._job._execute()


class _Signals(QObject):
    """The Qt side of a Job. Why Job itself is not a QObject: its `event` signal would shadow
    the virtual QObject.event(), and PySide would call the signal for every QEvent (a crash)."""

    progress = Signal(int, object, str)
    reported = Signal(dict)
    finished = Signal(object)
    failed = Signal(str, str)
    cancelled = Signal()
    ended = Signal()  # after finished/failed/cancelled, once the thread is gone (for the runner)
    wake = Signal()  # the worker says "the queue has something"; queued to the GUI thread


# A job's kind, for parts of the window that must react to another's job (the auto-retrainer
# waits for, or gives way to, a manual training): decided by what the job is, never by its words.
TRAINING = "training"
RETRAINING = "retraining"


class Job:
    """One running (or ended) job. Signals, all delivered on the GUI thread:
    `progress(int, object, str)`, `event(dict)`, then exactly one of `finished(object)`,
    `failed(str, str)`, `cancelled()`."""

    def __init__(self, fn: Callable[..., Any], args: tuple, kwargs: dict, name: str,
                 kind: str = ""):
        self.name = name
        self.kind = kind  # TRAINING, RETRAINING, or "" (nobody waits for it)
        # Whether closing the window should ask first. Background chores (a file check, a
        # lookup) set it to False: they are cancelled without a question.
        self.ask_before_quit = True
        # What the person can do after a failure (UserError.actions, e.g. "retry"), set before
        # `failed` is emitted; empty when the failure offers nothing particular.
        self.failure_actions: tuple[str, ...] = ()
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self._stop = threading.Event()
        self._lock = threading.Condition()
        self._queue: deque = deque()
        self._running = True
        self._qt = _Signals()
        self.progress = self._qt.progress
        self.event = self._qt.reported
        self.finished = self._qt.finished
        self.failed = self._qt.failed
        self.cancelled = self._qt.cancelled
        self.ended = self._qt.ended
        self._thread: _JobThread | None = _JobThread(self)
        self._drain_timer = QTimer(self._qt)
        self._drain_timer.setSingleShot(True)
        self._drain_timer.timeout.connect(self._drain)
        self._qt.wake.connect(self._on_wake, Qt.ConnectionType.QueuedConnection)

    def __repr__(self) -> str:
        state = "running" if self._running else "ended"
        return f"<Job {self.name!r} {state}>"

    # ----------------------------------------------------------------- GUI-thread API
    def cancel(self) -> None:
        """Asks the job to stop; it ends with `cancelled` (or `finished`, if it returns what
        it has, as training does) within about a second."""
        self._stop.set()

    def is_running(self) -> bool:
        return self._running

    def cancel_requested(self) -> bool:
        return self._stop.is_set()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Blocks until the worker thread has ended, delivering its events meanwhile (so a
        worker waiting for room in a full queue can go on). For shutdown and tests only.
        Returns False if the thread is still running after `timeout_s`."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while self._thread is not None and not self._thread.wait(50):
            self._drain(budget_s=None)
            if deadline is not None and time.monotonic() > deadline:
                return False
        self._drain(budget_s=None)
        return True

    def _begin(self) -> None:
        self._thread.start()

    # ----------------------------------------------------------------- worker thread
    def _execute(self) -> None:
        try:
            result = self._fn(*self._args, report=self._report, should_stop=self._stop.is_set,
                              **self._kwargs)
            end = ("finished", result)
        except JobCancelled:
            end = ("cancelled", None)
        except UserError as exc:
            self.failure_actions = exc.actions  # read by the failed() handler, if it wants them
            end = ("failed", (exc.message, exc.detail))
        except BaseException as exc:  # noqa: BLE001 - any crash becomes a sentence, not an exit
            what = f" while {self.name}" if self.name else ""
            end = ("failed", (f"Something went wrong{what}.",
                              "".join(traceback.format_exception(exc))))
        self._put((_END, *end))

    def _report(self, event: dict) -> None:
        if not isinstance(event, dict) or "type" not in event:
            raise TypeError(f"a job event must be a dict with a 'type', not {event!r}")
        self._put(dict(event))

    def _put(self, item) -> None:
        with self._lock:
            while len(self._queue) >= MAX_QUEUED and not self._stop.is_set():
                self._lock.wait(0.05)
            was_empty = not self._queue
            if (self._queue and _is_progress(item) and _is_progress(self._queue[-1])):
                self._queue[-1] = item  # only the newest progress matters
            else:
                self._queue.append(item)
        if was_empty:
            self._qt.wake.emit()

    # ----------------------------------------------------------------- GUI thread
    def _on_wake(self) -> None:
        if not self._drain_timer.isActive():
            self._drain_timer.start(DRAIN_DELAY_MS)

    def _drain(self, budget_s: float | None = DRAIN_BUDGET_S) -> None:
        deadline = None if budget_s is None else time.monotonic() + budget_s
        while self._running:
            with self._lock:
                if not self._queue:
                    return
                item = self._queue.popleft()
                if len(self._queue) < MAX_QUEUED:
                    self._lock.notify()
            if isinstance(item, tuple):
                self._end(item[1], item[2])
                return
            self.event.emit(item)
            if item["type"] == "progress":
                self.progress.emit(int(item.get("done") or 0), item.get("total"),
                                   str(item.get("message") or ""))
            if deadline is not None and time.monotonic() > deadline:
                # Let the GUI breathe; the rest comes on the next turn of the event loop.
                self._drain_timer.start(0)
                return

    def _end(self, kind: str, payload) -> None:
        self._running = False
        # The worker queued the end as its very last act, so this wait is a formality; it
        # guarantees no QThread object is ever destroyed while its thread still runs.
        if self._thread is not None:
            self._thread.wait()
            self._thread.deleteLater()
            self._thread = None
        if kind == "finished":
            self.finished.emit(payload)
        elif kind == "cancelled":
            self.cancelled.emit()
        else:
            self.failed.emit(*payload)
        self.ended.emit()


def _is_progress(item) -> bool:
    return isinstance(item, dict) and item.get("type") == "progress"


class JobRunner(QObject):
    """Starts jobs and keeps track of the running ones (so the window can ask before closing
    and `shutdown` can stop them all)."""

    # The number of running jobs changed (0: idle).
    busyChanged = Signal(int)
    jobStarted = Signal(object)  # Job

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._jobs: list[Job] = []
        self._retiring: list[Job] = []
        self._engine = None  # EngineClient, made on the first start_in_engine

    @property
    def engine(self):
        """The engine process's client (its process starts with the first engine job)."""
        if self._engine is None:
            from mbv2gui.core.engine_client import EngineClient

            self._engine = EngineClient()
        return self._engine

    def start(self, fn: Callable[..., Any], *args, name: str = "", kind: str = "",
              **kwargs) -> Job:
        """Runs `fn(*args, report=..., should_stop=..., **kwargs)` on a new thread.
        `name` completes "Something went wrong while <name>." (e.g. "importing images");
        `kind` (TRAINING, RETRAINING) is what other parts of the window recognise it by.
        Connect to the returned Job's signals right away: nothing is delivered before the
        event loop runs again."""
        # The caller's reference (and ours while it runs) keeps a Job alive, so a caller may
        # still ask a finished Job `is_running()` without touching a deleted object.
        job = Job(fn, args, kwargs, name, kind)
        alive = weakref.ref(job)  # a strong reference here would keep every Job forever
        job.ended.connect(lambda: self._on_job_ended(alive()))
        self._jobs.append(job)
        job._begin()
        self.jobStarted.emit(job)
        self.busyChanged.emit(len(self._jobs))
        return job

    def start_in_engine(self, fn: Callable[..., Any], *args, name: str = "", kind: str = "",
                        **kwargs) -> Job:
        """`start`, but `fn` runs in the engine process; see the module docstring."""
        from mbv2gui.core.engine_client import run_in_engine

        return self.start(run_in_engine, self.engine, fn, args, kwargs, name=name, kind=kind,
                          job_name=name)

    def running_jobs(self) -> list[Job]:
        return list(self._jobs)

    def cancel_all(self) -> None:
        for job in self._jobs:
            job.cancel()

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Cancels every job and waits up to `timeout` seconds in total for their threads, then
        ends the engine process (a job still in it ends with it). Returns True when no job is
        left running. For app exit; blocks the GUI thread."""
        self.cancel_all()
        deadline = time.monotonic() + timeout
        for job in list(self._jobs):
            job.wait(max(0.0, deadline - time.monotonic()))
        if self._engine is not None:
            self._engine.close(max(1.0, deadline - time.monotonic()))
            for job in list(self._jobs):  # their relay threads end once the engine is gone
                job.wait(5.0)
        return not self._jobs

    def _on_job_ended(self, job: Job) -> None:
        if job in self._jobs:
            self._jobs.remove(job)
            self.busyChanged.emit(len(self._jobs))
            # We are inside the Job's own signal: drop our reference only on the next turn of
            # the event loop, so the Job is never freed while its method is on the stack.
            self._retiring.append(job)
            QTimer.singleShot(0, self._retiring.clear)
