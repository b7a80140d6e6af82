"""A guard against a PySide6 6.12.0 reference-count bug that otherwise crashes the app.

On CPython 3.11, every Python call to `SignalInstance.emit()` drops one reference to `True`
that it never took (and a failed `disconnect()` does the same to `False`). After a few hundred
emits the interpreter frees `True` and aborts with "Fatal Python error: bool_dealloc". Python
3.12+ made True/False immortal, so there the bug is harmless; 6.11 does not have it, and
pyproject.toml keeps 6.12 out. Should 6.12.0 be installed anyway, we give both objects a reserve
of references so large (2**40) that no session can use it up. Idempotent; applied by importing
mbv2gui.gui (its __init__ imports this module).
"""

from __future__ import annotations

import ctypes
import sys

_RESERVE = 1 << 40
_applied = False


def protect_bool_refcounts() -> None:
    global _applied
    if _applied or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return
    import PySide6

    if PySide6.__version__ != "6.12.0":
        return
    for value in (True, False):
        # ob_refcnt is the first field of every CPython object.
        ctypes.c_ssize_t.from_address(id(value)).value += _RESERVE
    _applied = True


protect_bool_refcounts()
