"""The window's side of the engine process (see mbv2gui.core.engine for the why and the protocol).

    engine = EngineClient()
    result = run_in_engine(engine, train, (project_path, config), {}, report=report,
                           should_stop=should_stop, job_name="training")  # blocks this thread
    engine.close()

`run_in_engine` has the shape of every core job, so the GUI's JobRunner runs it on its usual
worker thread and callers see the same progress/event/finished/failed/cancelled as before. The
engine is started on first need and kept for later jobs; when it dies (crash, out of memory, or
ended because a job would not stop) the next job starts a fresh one; after IDLE_EXIT_S without
a job it is ended, so its memory goes back to the system. Qt-free.
"""

from __future__ import annotations

import importlib
import itertools
import multiprocessing
import os
import queue
import shutil
import signal
import tempfile
import threading
import time

from mbv2gui.core.engine import engine_main, files_to_arrays, strip_models
from mbv2gui.core.errors import JobCancelled, UserError

# After Stop, how long a job may take to end by itself before the engine is ended under it.
STOP_GRACE_S = 10.0
# An engine with no job for this long is ended, so the memory TensorFlow took goes back to the
# system; the next job starts a fresh one (a few seconds).
IDLE_EXIT_S = 300.0

ENDED_SENTENCE = ("The engine did not stop in time and was ended; your labels are safe; "
                  "the last finished run is kept.")


def crash_sentence(exitcode: int | None, name: str = "training") -> str:
    """What the person reads when the engine died under a job: SIGKILL is most often the
    system's out-of-memory killer."""
    what = (name or "the job")[:1].upper() + (name or "the job")[1:]
    if exitcode == -getattr(signal, "SIGKILL", 9):
        return (f"{what} stopped because the engine ran out of memory (the system ended it); "
                "your labels are safe; the last finished run is kept. Close other programs or "
                "choose a smaller image size or batch size, and try again.")
    return (f"{what} stopped because the engine crashed; your labels are safe; the last "
            "finished run is kept. Try again.")


def exit_detail(exitcode: int | None) -> str:
    if exitcode is None:
        return "The engine process ended without an exit code."
    if exitcode < 0:
        try:
            return f"The engine process was ended by signal {signal.Signals(-exitcode).name}."
        except ValueError:
            return f"The engine process was ended by signal {-exitcode}."
    return f"The engine process exited with code {exitcode}."


def job_reference(fn) -> tuple[str, str]:
    """(module, qualname) of a module-level job function, checked to resolve back to it; the
    engine imports it by these names."""
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
    target = importlib.import_module(module) if module else None
    for part in qualname.split("."):
        target = getattr(target, part, None)
    if target is not fn or "<locals>" in qualname:
        raise TypeError(f"{fn!r} is not a module-level function; the engine cannot import it")
    return module, qualname


class _Died:
    """Put in a task's queue when the engine it ran in is gone."""

    def __init__(self, exitcode: int | None, ended_on_purpose: bool):
        self.exitcode = exitcode
        self.ended_on_purpose = ended_on_purpose


class _Generation:
    """One engine process and its pipe; the client makes a new one when this one dies."""

    def __init__(self, context):
        self.connection, child = context.Pipe(duplex=True)
        # Where the engine leaves big arrays for us (removed when this engine is gone).
        self.array_folder = tempfile.mkdtemp(prefix="mbv2gui-engine-")
        self.process = context.Process(target=engine_main,
                                       args=(child, os.getpid(), self.array_folder),
                                       daemon=True, name="mbv2gui-engine")
        self.process.start()
        child.close()  # only the child holds it now: its death is our EOF, and ours is its
        self.pid: int | None = None  # from the engine's ("hello", pid)
        self.tasks: dict[int, queue.Queue] = {}
        self.lock = threading.Lock()
        self.send_lock = threading.Lock()  # jobs send from their own threads
        self.dead = False
        self.ended_on_purpose = False

    def alive(self) -> bool:
        return not self.dead and self.process.is_alive()

    def send(self, message: tuple) -> None:
        with self.send_lock:
            self.connection.send(message)


class EngineClient:
    """Starts, feeds, stops and ends the engine process. Thread-safe: jobs submit from their
    own worker threads; one reader thread per engine process hands each job its messages."""

    def __init__(self):
        self._context = multiprocessing.get_context("spawn")  # no fork of a process with Qt
        self._lock = threading.Lock()
        self._generation: _Generation | None = None
        self._ids = itertools.count(1)
        self._idle_timer: threading.Timer | None = None
        self.idle_exit_s = IDLE_EXIT_S
        self.starts = 0  # how many engine processes were started (tests keep this small)

    # ----------------------------------------------------------------- process
    def pid(self) -> int | None:
        """The running engine's pid, or None when there is none."""
        generation = self._generation
        return generation.process.pid if generation is not None and generation.alive() else None

    def _ensure(self) -> _Generation:
        """The running engine, started if there is none. Call with self._lock held."""
        if self._generation is None or not self._generation.alive():
            self._generation = _Generation(self._context)
            self.starts += 1
            threading.Thread(target=self._read, args=(self._generation,), daemon=True,
                             name="engine-reader").start()
        return self._generation

    def _when_idle(self, generation: _Generation) -> None:
        """After a job ended: if it was the engine's last, end the engine after a while."""
        with self._lock:
            if generation is not self._generation or generation.tasks:
                return
            if self._idle_timer is not None:
                self._idle_timer.cancel()
            self._idle_timer = threading.Timer(self.idle_exit_s, self._close_if_idle,
                                               args=(generation,))
            self._idle_timer.daemon = True
            self._idle_timer.start()

    def _close_if_idle(self, generation: _Generation) -> None:
        with self._lock:  # no job can be submitted to it while we decide
            if generation is not self._generation or generation.tasks:
                return
            self._generation = None
        self._end(generation, 10.0)

    def _read(self, generation: _Generation) -> None:
        """Hands every message to its job, until the engine is gone; then tells every job
        still waiting that it died."""
        while True:
            try:
                message = generation.connection.recv()
            except (EOFError, OSError):
                break
            try:
                message = files_to_arrays(message)
            except (OSError, ValueError) as exc:  # e.g. the temporary folder was emptied
                if message[0] != "end":
                    continue
                message = ("end", message[1], "failed",
                           (None, f"A result file of the engine could not be read: {exc!r}"))
            kind = message[0]
            if kind == "hello":
                generation.pid = message[1]
                continue
            with generation.lock:
                task = generation.tasks.get(message[1])
                if kind == "end":
                    generation.tasks.pop(message[1], None)
            if task is not None:
                task.put(message)
            if kind == "end":
                self._when_idle(generation)
        generation.process.join(5.0)
        with generation.lock:
            generation.dead = True
            orphans = list(generation.tasks.values())
            generation.tasks.clear()
        died = _Died(generation.process.exitcode, generation.ended_on_purpose)
        for task in orphans:
            task.put(died)
        generation.connection.close()
        shutil.rmtree(generation.array_folder, ignore_errors=True)

    def kill(self, generation: _Generation | None = None) -> None:
        """Ends the engine process at once (its jobs end as failed); the next job starts a new
        one."""
        generation = generation or self._generation
        if generation is not None and generation.process.is_alive():
            generation.ended_on_purpose = True
            generation.process.kill()

    def close(self, timeout_s: float = 5.0) -> None:
        """Asks the engine to stop its jobs and exit; ends it if it has not within
        `timeout_s`. For app exit."""
        with self._lock:
            generation, self._generation = self._generation, None
            if self._idle_timer is not None:
                self._idle_timer.cancel()
        if generation is not None:
            self._end(generation, timeout_s)

    def _end(self, generation: _Generation, timeout_s: float) -> None:
        if not generation.process.is_alive():
            return
        generation.ended_on_purpose = True  # a job still in it did not crash: we ended it
        try:
            generation.send(("quit",))
        except (OSError, ValueError):
            pass
        generation.process.join(timeout_s)
        if generation.process.is_alive():
            self.kill(generation)
            generation.process.join(5.0)

    # ----------------------------------------------------------------- jobs
    def submit(self, fn, args: tuple, kwargs: dict) -> tuple[_Generation, int, queue.Queue]:
        module, qualname = job_reference(fn)
        job_id = next(self._ids)
        messages: queue.Queue = queue.Queue()
        with self._lock:
            if self._idle_timer is not None:
                self._idle_timer.cancel()
            generation = self._ensure()
            with generation.lock:
                if generation.dead:  # died just now: the caller sees a crash
                    messages.put(_Died(generation.process.exitcode, generation.ended_on_purpose))
                    return generation, job_id, messages
                generation.tasks[job_id] = messages
        try:
            generation.send(("run", job_id, module, qualname, strip_models(tuple(args)),
                             strip_models(dict(kwargs))))
        except (OSError, ValueError, BrokenPipeError):
            pass  # the engine is dying; the reader thread tells this task
        except Exception:
            with generation.lock:
                generation.tasks.pop(job_id, None)
            raise  # e.g. an argument that does not pickle: a bug, told as one
        return generation, job_id, messages

    def stop(self, generation: _Generation, job_id: int) -> None:
        try:
            generation.send(("stop", job_id))
        except (OSError, ValueError):
            pass


def run_in_engine(engine: EngineClient, fn, args: tuple, kwargs: dict, *, report, should_stop,
                  job_name: str = "", stop_grace_s: float | None = None):
    """Runs the job `fn(*args, report, should_stop, **kwargs)` in the engine process and
    returns its result, relaying its events to `report` and Stop to the engine. Blocks the
    calling (worker) thread. Raises JobCancelled or UserError as the job itself would; a dead
    engine becomes a UserError sentence. `job_name` completes the sentences ("training")."""
    grace = STOP_GRACE_S if stop_grace_s is None else stop_grace_s
    generation, job_id, messages = engine.submit(fn, args, kwargs)
    stop_sent_at = None
    while True:
        if stop_sent_at is None and should_stop():
            engine.stop(generation, job_id)
            stop_sent_at = time.monotonic()
        elif stop_sent_at is not None and time.monotonic() - stop_sent_at > grace:
            engine.kill(generation)  # a job deaf to Stop: end its process; _Died follows
            stop_sent_at = float("inf")
        try:
            message = messages.get(timeout=0.1)
        except queue.Empty:
            continue
        if isinstance(message, _Died):
            if message.ended_on_purpose:
                raise UserError(ENDED_SENTENCE, exit_detail(message.exitcode))
            raise UserError(crash_sentence(message.exitcode, job_name),
                            exit_detail(message.exitcode))
        if message[0] == "event":
            report(message[2])
            continue
        kind, payload = message[2], message[3]
        if kind == "finished":
            return payload
        if kind == "cancelled":
            raise JobCancelled()
        if isinstance(payload, UserError):
            raise payload
        text, detail = payload
        if text is None:
            what = f" while {job_name}" if job_name else ""
            text = f"Something went wrong{what}."
        raise UserError(text, detail)
