"""Errors a non-programmer can read.

Every error the core raises on purpose is a `UserError`: `message` is one plain sentence
(which file, what is wrong, what to do), `detail` is the technical text shown under it.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can understand and act on."""

    def __init__(self, message: str, detail: str = ""):
        super().__init__(message)
        self.message = message
        self.detail = detail

    def __str__(self) -> str:
        return self.message


class JobCancelled(Exception):
    """Raised inside a job when `should_stop()` said yes and the job has nothing to return."""
