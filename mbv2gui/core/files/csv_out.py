"""The one CSV writer: every CSV the app writes goes through here.

    write_csv_file(path, header, rows, action)   atomically: a temporary file in the same
                                                 folder, renamed over `path` once complete
    write_rows(handle, header, rows)             to an open text stream (a terminal's stdout)

Every cell is made safe to open:
- Formula injection (OWASP "CSV Injection"): a text cell beginning with `=`, `+`, `-`, `@`, a
  tab or a carriage return would be run by a spreadsheet as a formula (a class named
  `=cmd|' /C calc'!A0`); it is written with a leading `'`, which spreadsheets show as text.
  Numbers (int and float values, not text) are written as numbers, so -0.5 stays -0.5.
- Any path, whatever its bytes: a file name that is not valid UTF-8 (Linux allows any bytes)
  arrives as text with surrogate escapes and would make the encoder fail half-way through the
  file. Each byte that is not UTF-8 is written as a backslash escape (`\\xff`), so the name
  stays distinct from its neighbours and can be traced back to the file (a `?` replacement, as
  `images.display_path` does for messages, could make two names the same).
"""

from __future__ import annotations

import csv
import numbers
import os
from pathlib import Path
from typing import Iterable, Sequence

from mbv2gui.core.files.diskspace import said_in_words
from mbv2gui.core.errors import UserError
from mbv2gui.core.files.partial_outputs import partial_path, sweep_partial_outputs

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def encodable(text: str) -> str:
    """`text` with every byte that is not UTF-8 written as `\\xNN` (and any other lone
    surrogate as `\\udNNN`): always encodable, and nothing else changes."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that no file name bytes could have made
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def safe_cell(value, float_format: str = "{:.6f}"):
    """One cell as it is safe to write: None empty, numbers as numbers, paths and text
    encodable and neutralised (see the module's note)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):  # float, NumPy's floats
        return float_format.format(float(value))
    if isinstance(value, (bytes, os.PathLike)):
        value = os.fsdecode(value)
    text = encodable(str(value))
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_rows(handle, header: Sequence, rows: Iterable[Sequence]) -> None:
    writer = csv.writer(handle)
    writer.writerow([safe_cell(c) for c in header])
    for row in rows:
        writer.writerow([safe_cell(c) for c in row])


def write_csv_file(path, header: Sequence, rows: Iterable[Sequence],
                   action: str = "save the CSV file") -> Path:
    """Writes the whole file under a hidden temporary name beside `path`, flushed to disk, then
    renames it over `path`: a crash, a kill or a full disk leaves the old file as it was and no
    half-written one. Errors are sentences (a refused write says which disk and what to do)."""
    path = Path(os.fsdecode(path))
    sweep_partial_outputs(path.parent)  # what a killed earlier write left beside it
    temporary = partial_path(path)
    try:
        with said_in_words(path, action):
            with open(temporary, "w", newline="", encoding="utf-8") as handle:
                write_rows(handle, header, rows)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
    except OSError as exc:  # not the disk's refusal: a missing folder, a name that is a folder
        raise UserError(f"The file {encodable(str(path))} could not be written "
                        f"({exc.strerror or exc}); choose another name or folder.",
                        str(exc)) from exc
    finally:
        if os.path.lexists(temporary):  # (unlinking a missing file on a read-only disk fails)
            temporary.unlink()
    return path
