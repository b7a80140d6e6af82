"""Tiny module-level jobs for the engine tests: the engine process imports them by name (this
folder is on the spawned engine's sys.path, as it is on the test session's)."""

from __future__ import annotations

import os
import time

from mbv2gui.core.errors import JobCancelled, UserError


def whoami(*, report, should_stop, extra=0):
    """Reports a progress event and returns its process's pid and whether TensorFlow is loaded
    there."""
    import sys

    report({"type": "progress", "done": 1, "total": 2, "message": "half"})
    return {"pid": os.getpid() + extra, "tensorflow": "tensorflow" in sys.modules}


def waits_for_stop(*, report, should_stop):
    report({"type": "message", "text": "waiting", "level": "info"})
    while not should_stop():
        time.sleep(0.02)
    raise JobCancelled()


def deaf_to_stop(*, report, should_stop):
    report({"type": "message", "text": "sleeping", "level": "info"})
    time.sleep(600)


def says_no(*, report, should_stop):
    raise UserError("The file x.jpg is damaged; remove it and try again.", "detail here")


def crashes(*, report, should_stop):
    return 1 / 0


def arrays(n, *, report, should_stop):
    """A big array in an event and in the result, and a small one that stays inline."""
    import numpy as np

    report({"type": "rows", "heatmap": np.full((n,), 7, dtype=np.float32)})
    return {"big": [np.arange(n, dtype=np.int64)], "small": np.arange(3)}


def model_identity(run, *, report, should_stop):
    """Which object the engine handed this job as `run`'s model (the same across jobs while
    its model file is unchanged), without TensorFlow: a stand-in is set as the model."""
    if run._model is None:
        run._model = object()
    return id(run._model)
