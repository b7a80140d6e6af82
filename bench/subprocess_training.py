"""A prototype for bench_responsiveness.py: the same training job, but TensorFlow runs in a
child process, so nothing it does can hold the GUI process's GIL.

`train_in_subprocess(project_path, config_dict, report, should_stop) -> Run` has the shape of
every core job (mbv2gui.core.jobs), so the JobRunner runs it unchanged: its worker thread only
relays events from a pipe, passes Cancel on as a multiprocessing Event, and loads the finished
run's folder (JSON files; the model is loaded later, where it is needed). Qt-free; the GUI
process never imports TensorFlow. Not wired into the app: it is the measured evidence for the
proposal in the report (a persistent child would also keep the warm feature model between
retrainings).
"""

from __future__ import annotations

import multiprocessing
import traceback


def _child(connection, stop, project_path: str, config: dict, nice: int, run_dir) -> None:
    import os

    if nice and hasattr(os, "nice"):  # not on Windows (there: psutil's priority classes)
        os.nice(nice)  # the GUI process gets the CPU first; the training uses what is left
    from mbv2gui.core.errors import JobCancelled, UserError
    from mbv2gui.core.training.config import TrainConfig
    from mbv2gui.core.training.train import train

    try:
        run = train(project_path, TrainConfig.from_dict(config),
                    lambda event: connection.send(("event", event)), stop.is_set, run_dir)
        connection.send(("done", str(run.run_dir)))
    except JobCancelled:
        connection.send(("cancelled", None))
    except UserError as exc:
        connection.send(("error", (exc.message, exc.detail)))
    except BaseException as exc:  # noqa: BLE001 - told to the parent as a sentence
        connection.send(("error", ("Something went wrong while training.",
                                   "".join(traceback.format_exception(exc)))))
    finally:
        connection.close()


def train_in_subprocess(project_path, config, report=None, should_stop=None, run_dir=None,
                        nice: int = 10):
    """Drop-in for `core.train.train(data, config, report, should_stop, run_dir)` with a project
    file or folder as `data` and a TrainConfig or its dict as `config`."""
    from mbv2gui.core.errors import JobCancelled, UserError
    from mbv2gui.core.jobs import ignore_events, never_stop
    from mbv2gui.core.runs import Run

    report = report or ignore_events
    should_stop = should_stop or never_stop
    config = config.to_dict() if hasattr(config, "to_dict") else dict(config or {})

    context = multiprocessing.get_context("spawn")  # no fork of a process with Qt threads
    parent, child = context.Pipe(duplex=False)
    stop = context.Event()
    source = str(getattr(project_path, "path", project_path))
    process = context.Process(target=_child, daemon=True,
                              args=(child, stop, source, config, nice,
                                    None if run_dir is None else str(run_dir)))
    process.start()
    child.close()
    try:
        while True:
            if should_stop():
                stop.set()
            if parent.poll(0.05):
                try:
                    kind, payload = parent.recv()
                except EOFError:
                    kind, payload = "died", None
                if kind == "event":
                    report(payload)
                    continue
                process.join(10)
                if kind == "done":
                    return Run.load(payload)
                if kind == "cancelled":
                    raise JobCancelled()
                if kind == "error":
                    raise UserError(*payload)
                raise UserError("The training process ended unexpectedly.",
                                f"exit code {process.exitcode}")
            if not process.is_alive() and not parent.poll():
                raise UserError("The training process ended unexpectedly.",
                                f"exit code {process.exitcode}")
    finally:
        if process.is_alive():
            stop.set()
            process.join(5)
            if process.is_alive():
                process.terminate()
        parent.close()
