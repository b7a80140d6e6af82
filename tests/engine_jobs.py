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
