"""Output folders and files that are either whole or absent, and the sweep of what a kill left.

Everything the app writes as a unit (a training run's folder, an export's folder, a CSV file) is
first written under a hidden temporary name in the same parent folder,

    .<name>.partial-<pid>

and renamed into place once complete (a rename within one folder is atomic). A target that
already exists is swapped out: renamed aside to `.<name>.old-<pid>`, the new one renamed in, the
old one deleted, so a killed job never leaves a new model file beside an old labels.txt.

`sweep_partial_outputs(folder)` removes what a killed job left in `folder`: a `.partial-<pid>`
whose process is gone (or whose pid now belongs to a process started after it was made: pids
are reused) is deleted; an `.old-<pid>` is put back if its target is missing (the kill fell
between the two renames), else deleted. A partial output of a job still running, in this or
another process, is never touched.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from mbv2gui.core.files.diskspace import said_in_words
from mbv2gui.core.errors import UserError

PATTERN = re.compile(r"^\.(?P<name>.+)\.(?P<kind>partial|old)-(?P<pid>\d+)$")

# Temporary files that older versions of the app wrote straight into run folders; a run folder
# holding nothing else is what a kill left, not a run.
LEGACY_TEMPORARIES = ("model.tmp.keras", "pixels.tmp.npy")
LEGACY_AGE_SECONDS = 24 * 3600  # an older version may still be running: leave recent ones


def partial_path(target, kind: str = "partial") -> Path:
    target = Path(target)
    return target.with_name(f".{target.name}.{kind}-{os.getpid()}")


def remove(path: Path) -> None:
    """Deletes a file or a folder tree; a missing one is fine."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        pass


def publish(partial: Path, target: Path) -> None:
    """Moves a complete `partial` (file or folder) to `target`, replacing what is there."""
    partial, target = Path(partial), Path(target)
    if not os.path.lexists(target):
        os.replace(partial, target)
        return
    if partial.is_file():  # a file replaces a file in one atomic step
        os.replace(partial, target)
        return
    aside = partial_path(target, "old")
    remove(aside)
    os.replace(target, aside)
    os.replace(partial, target)
    remove(aside)


def check_replaceable(target: Path, replaceable: Callable[[Path], bool], what: str) -> None:
    """A folder about to be replaced must be empty or one the app made (`replaceable`): a
    user's folder of other files is never swapped away."""
    target = Path(target)
    if not os.path.lexists(target):
        return
    if not target.is_dir():
        raise UserError(f"{target} is a file, not a folder; give a folder name for the {what}.")
    if any(target.iterdir()) and not replaceable(target):
        raise UserError(f"The folder {target} already holds other files; give a new folder "
                        f"name (or an empty folder) for the {what}, so that nothing else in it "
                        "is replaced.")


@contextmanager
def building(target, replaceable: Callable[[Path], bool] = lambda folder: False,
             what: str = "output", action: str = "write the output") -> Iterator[Path]:
    """Yields a new empty hidden folder beside `target` to write into; on success it becomes
    `target` (replacing an empty or `replaceable` folder there); on any error or cancel it is
    deleted, and `target` is as it was. A refused write of the folder itself (full, read-only)
    is said in words, as what the app could not `action`."""
    target = Path(target)
    check_replaceable(target, replaceable, what)
    partial = partial_path(target)
    with said_in_words(target.parent, action):
        target.parent.mkdir(parents=True, exist_ok=True)
        remove(partial)
        partial.mkdir()
    try:
        yield partial
        with said_in_words(target.parent, action):
            publish(partial, target)
    except BaseException:
        remove(partial)
        raise


# ---------------------------------------------------------------- the sweep
def sweep_partial_outputs(folder, runs_folder: bool = False) -> list[Path]:
    """Removes (or restores) what killed jobs left in `folder`; returns the paths it dealt
    with. `runs_folder`: `folder` is a project's own runs folder, where what older versions
    left is cleaned too (never in a user's folder). Never raises: a sweep that cannot do its
    work leaves things for the next one."""
    dealt = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return dealt
    for entry in entries:
        try:
            if _sweep_one(entry, runs_folder):
                dealt.append(entry)
        except OSError:
            continue
    return dealt


def _sweep_one(entry: Path, runs_folder: bool) -> bool:
    match = PATTERN.match(entry.name)
    if match is None:
        return runs_folder and _sweep_legacy(entry)
    made = entry.lstat().st_mtime
    if _owner_running(int(match["pid"]), made):
        return False
    target = entry.with_name(match["name"])
    if match["kind"] == "old" and not os.path.lexists(target):
        os.replace(entry, target)  # killed between the two renames: the old one is whole
    else:
        remove(entry)
    return True


def _sweep_legacy(entry: Path) -> bool:
    """A run folder from an older version: an empty or temporaries-only folder is removed;
    stray temporaries beside a complete run are deleted. Only when older than a day."""
    if not entry.is_dir() or entry.is_symlink():
        return False
    try:
        names = {child.name for child in entry.iterdir()}
    except OSError:
        return False
    leftovers = [entry / n for n in names if n in LEGACY_TEMPORARIES or n.endswith(".json.tmp")]
    if not leftovers and names:
        return False
    if time.time() - entry.stat().st_mtime < LEGACY_AGE_SECONDS:
        return False
    if len(leftovers) == len(names) and "labels.txt" not in names:
        remove(entry)
    else:
        for path in leftovers:
            remove(path)
    return True


def _owner_running(pid: int, made_at: float) -> bool:
    """Whether the process `pid` is alive and could have made something at `made_at`."""
    if pid == os.getpid():
        return True
    if not _pid_alive(pid):
        return False
    started = _process_start_time(pid)
    # A process started after the output was last written cannot be the one writing it (the
    # pid was reused). 2 s of slack: /proc gives the boot time in whole seconds.
    return started is None or started <= made_at + 2


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill would terminate the process on Windows
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    except OSError:
        return False
    return True


def _windows_pid_alive(pid: int) -> bool:  # pragma: no cover (Windows only)
    import ctypes

    kernel = ctypes.windll.kernel32
    handle = kernel.OpenProcess(0x00100000 | 0x1000, False, pid)  # SYNCHRONIZE | QUERY_LIMITED
    if not handle:
        return False
    try:
        return kernel.WaitForSingleObject(handle, 0) == 0x102  # WAIT_TIMEOUT: still running
    finally:
        kernel.CloseHandle(handle)


def _process_start_time(pid: int) -> float | None:
    """Seconds since the epoch when `pid` started (Linux), else None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        with open("/proc/stat", "rb") as handle:
            boot = next(int(line.split()[1]) for line in handle if line.startswith(b"btime"))
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None
