"""The engine process: where TensorFlow jobs run, so the window process never imports TensorFlow.

A crash, an abort or the out-of-memory killer inside TensorFlow then costs a sentence, not the
window; the window's GUI thread never waits for TensorFlow's GIL-holding start-up; and Stop can
always end a job by ending the process.

This module is the child side and the protocol; `mbv2gui.core.engine_client` is the window side.
Both are Qt-free. Messages over one duplex `multiprocessing` pipe, all plain tuples:

  window -> engine   ("run", job_id, module, qualname, args, kwargs)
                     ("stop", job_id)          the job's should_stop() turns True
                     ("quit",)                 stop every job and exit
  engine -> window   ("hello", pid)            once, when the engine is up
                     ("event", job_id, event)  a job's report(event); the first event of every
                                               job is {"type": "engine", "pid": <engine pid>}
                     ("end", job_id, kind, payload)   kind: "finished" (payload: the result),
                                               "cancelled" (None), "failed" ((message, detail))

A job function is named by its module and qualified name (core jobs are module-level, so they
pickle by reference). Arguments and results must be plain picklable data. A NumPy array bigger
than ARRAY_FILE_BYTES inside a result or event (a preview image, a heat map) does not go through
the pipe: the engine saves it as a .npy file in a folder the window gave it and sends an
`ArrayFile`; the window loads it (off the GUI thread) and deletes the file, so the callers see
the array itself. A Run argument arrives without its Keras model; the engine keeps the last few
runs' loaded models, so a click's Grad-CAM does not reload the model. Each job runs on its own
thread here, as it did in the window, so two jobs (a training and a suggestion lookup) can still
overlap.

The engine exits when the window goes away, however it goes: the pipe reaches EOF when the
window process dies (even by SIGKILL), and a watcher thread also notices the parent pid change.
"""

from __future__ import annotations

import dataclasses
import importlib
import itertools
import os
import shutil
import threading
import time
import traceback
from collections import OrderedDict
from pathlib import Path

import numpy as np

from mbv2gui.core.errors import JobCancelled, UserError

# The engine gives the window the CPU first: training uses what the GUI leaves.
ENGINE_NICENESS = 10
PARENT_POLL_S = 0.5
# Arrays bigger than this travel as .npy files instead of through the pipe.
ARRAY_FILE_BYTES = 256 * 1024
# Loaded models kept in the engine, newest last (each a few to tens of MB).
CACHED_RUNS = 2


def resolve_job(module: str, qualname: str):
    """The job function a ("run", ...) message names."""
    target = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


def without_model(result):
    """A Run without its loaded Keras model (unpickling a Keras model in the window would import
    TensorFlow there; `Run.load_model` loads it again from the run folder where needed)."""
    if dataclasses.is_dataclass(result) and getattr(result, "_model", None) is not None:
        return dataclasses.replace(result, _model=None)
    return result


@dataclasses.dataclass(frozen=True)
class ArrayFile:
    """A big array saved by the engine for the window to load (see the module docstring)."""

    path: str


def _map_plain(data, convert):
    """`data` with `convert` applied to every leaf inside dicts, lists and tuples."""
    if isinstance(data, dict):
        return {key: _map_plain(value, convert) for key, value in data.items()}
    if isinstance(data, (list, tuple)) and not hasattr(data, "_fields"):  # not namedtuples
        return type(data)(_map_plain(value, convert) for value in data)
    return convert(data)


def arrays_to_files(data, folder: str, names):
    """Replaces every big ndarray in `data` by an ArrayFile saved in `folder`."""
    def convert(value):
        if isinstance(value, np.ndarray) and value.nbytes > ARRAY_FILE_BYTES:
            path = os.path.join(folder, f"{next(names)}.npy")
            np.save(path, value, allow_pickle=False)
            return ArrayFile(path)
        return value

    return _map_plain(data, convert)


def files_to_arrays(data):
    """The inverse of arrays_to_files, for the window: loads and deletes each file."""
    def convert(value):
        if isinstance(value, ArrayFile):
            array = np.load(value.path, allow_pickle=False)
            Path(value.path).unlink(missing_ok=True)
            return array
        return value

    return _map_plain(data, convert)


def strip_models(data):
    """Run objects without their loaded Keras model, anywhere in `data` (what crosses the pipe
    both ways: unpickling a Keras model would import TensorFlow in the window)."""
    return _map_plain(data, without_model)


class _Engine:
    """The child's state: the pipe, a lock for sending from several job threads, and each
    running job's stop flag."""

    def __init__(self, connection, array_folder: str):
        self.connection = connection
        self.array_folder = array_folder
        self.array_names = itertools.count()
        self.send_lock = threading.Lock()
        self.stops: dict[int, threading.Event] = {}
        self.threads: dict[int, threading.Thread] = {}
        self.runs: OrderedDict = OrderedDict()
        self.runs_lock = threading.Lock()

    def send(self, message: tuple) -> None:
        message = arrays_to_files(message, self.array_folder, self.array_names)
        with self.send_lock:
            self.connection.send(message)

    def warm_run(self, value):
        """The engine's own copy of a Run argument (its model stays loaded between jobs) when
        the model file is unchanged; anything else as it is."""
        if not (dataclasses.is_dataclass(value) and hasattr(value, "_model")
                and hasattr(value, "model_path")):
            return value
        try:
            stat = os.stat(value.model_path)
        except OSError:
            return value  # load_model will say what is wrong
        key = (str(value.run_dir), stat.st_mtime_ns, stat.st_size)
        with self.runs_lock:
            cached = self.runs.pop(key, None) or value
            self.runs[key] = cached
            while len(self.runs) > CACHED_RUNS:
                self.runs.popitem(last=False)
        return cached

    def run_job(self, job_id: int, module: str, qualname: str, args, kwargs) -> None:
        stop = self.stops[job_id]

        def report(event):
            if not isinstance(event, dict) or "type" not in event:
                raise TypeError(f"a job event must be a dict with a 'type', not {event!r}")
            self.send(("event", job_id, dict(event)))

        try:
            report({"type": "engine", "pid": os.getpid()})
            fn = resolve_job(module, qualname)
            args = [self.warm_run(value) for value in args]
            result = fn(*args, report=report, should_stop=stop.is_set, **kwargs)
            end = ("finished", strip_models(result))
        except JobCancelled:
            end = ("cancelled", None)
        except UserError as exc:
            end = ("failed", exc)  # a UserError pickles whole, with its actions
        except BaseException as exc:  # noqa: BLE001 - the window turns it into a sentence
            end = ("failed", (None, "".join(traceback.format_exception(exc))))
        try:
            self.send(("end", job_id, *end))
        except Exception as exc:  # noqa: BLE001 - e.g. a result that does not pickle
            self.send(("end", job_id, "failed",
                       (None, f"The job's result could not be sent to the window: {exc!r}")))
        finally:
            self.stops.pop(job_id, None)
            self.threads.pop(job_id, None)

    def serve(self) -> None:
        while True:
            try:
                message = self.connection.recv()
            except (EOFError, OSError):
                self.exit_orphaned()
            kind = message[0]
            if kind == "run":
                job_id = message[1]
                self.stops[job_id] = threading.Event()
                thread = threading.Thread(target=self.run_job, args=message[1:], daemon=True,
                                          name=f"engine-job-{job_id}")
                self.threads[job_id] = thread
                thread.start()
            elif kind == "stop":
                stop = self.stops.get(message[1])
                if stop is not None:
                    stop.set()
            elif kind == "quit":
                self.quit()

    def exit_orphaned(self) -> None:
        """The window is gone (it cannot clean up after a kill): remove the array folder and
        exit; nothing is left to work for."""
        shutil.rmtree(self.array_folder, ignore_errors=True)
        os._exit(0)

    def quit(self, grace_s: float = 3.0) -> None:
        """Stops every job cooperatively, waits a little, and exits (a training keeps its best
        weights if it gets there in time)."""
        for stop in list(self.stops.values()):
            stop.set()
        deadline = time.monotonic() + grace_s
        for thread in list(self.threads.values()):
            thread.join(max(0.0, deadline - time.monotonic()))
        os._exit(0)


def _exit_when_orphaned(engine: _Engine, parent_pid: int) -> None:
    """Belt and braces for the pipe's EOF: once the window's pid is no longer our parent, the
    window is gone (on POSIX we were re-parented to init or a subreaper)."""
    while True:
        time.sleep(PARENT_POLL_S)
        if os.getppid() != parent_pid:
            engine.exit_orphaned()


def engine_main(connection, parent_pid: int, array_folder: str) -> None:
    """The engine process's entry point (the target of a spawned multiprocessing.Process)."""
    if ENGINE_NICENESS and hasattr(os, "nice"):  # not on Windows
        try:
            os.nice(ENGINE_NICENESS)
        except OSError:
            pass
    engine = _Engine(connection, array_folder)
    threading.Thread(target=_exit_when_orphaned, args=(engine, parent_pid), daemon=True,
                     name="engine-parent-watch").start()
    engine.send(("hello", os.getpid()))
    engine.serve()
