"""Downloads MobileNetV2's ImageNet weights once into the Keras cache, as a job:
`download_imagenet(alpha, size, report, should_stop, base_url=None) -> Path`.

Keras' `get_file` has no progress callback or cancel hook a window can use, so the file is
fetched here in chunks (progress events, `should_stop` polled between chunks) into a `.part`
file in the Keras cache folder, checked (Keras publishes no hash for these files: the check opens
it as HDF5 and reads every array, and the layers must be MobileNetV2's at this alpha), then
renamed to Keras' own file name, where keras.applications and every later run find it. A
partial, cancelled or damaged download is deleted: the next try starts clean.
"""

from __future__ import annotations

import errno
import http.client
import os
import socket
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from mbv2gui.core.errors import JobCancelled, UserError
from mbv2gui.core.jobs import Throttle, ignore_events, message, never_stop, progress
from mbv2gui.core.training.weights import (
    WeightsUnavailable, approx_download_mb, imagenet_file_name, imagenet_supported,
    imagenet_url, keras_cache_dir)

CHUNK = 64 * 1024
TIMEOUT_S = 20  # a stalled connection gives up (and a Cancel is noticed) within this
_STALE_PART_S = 3600  # a .part this old was left by a process that died: remove it
_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_ADVICE = "Try again, choose a weights file, or train from scratch."


def _unavailable(why: str, detail: str = "") -> WeightsUnavailable:
    return WeightsUnavailable(f"The pretrained weights could not be downloaded ({why}). {_ADVICE}",
                              detail)


def download_imagenet(alpha: float, size: int, report=ignore_events, should_stop=never_stop,
                      base_url: str | None = None) -> Path:
    """The ImageNet weights file for this alpha and size in the Keras cache, downloaded now if
    it is not there. Raises WeightsUnavailable (a sentence and `.actions`) or JobCancelled."""
    if not imagenet_supported(alpha, size):
        raise UserError(f"ImageNet weights do not exist for alpha {alpha} at {size} px; "
                        "choose other settings, or train from scratch.")
    folder = keras_cache_dir()
    target = folder / imagenet_file_name(alpha, size)
    if target.is_file():
        return target
    url = imagenet_url(alpha, size, base_url)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _remove_stale_parts(folder, target.name)
        handle, part = tempfile.mkstemp(dir=folder, prefix=target.name + ".", suffix=".part")
    except OSError as exc:
        raise WeightsUnavailable(f"The pretrained weights cannot be saved in {folder} ("
                                 f"{exc.strerror or exc}). Free some space or allow writing "
                                 f"there, choose a weights file, or train from scratch.",
                                 str(exc)) from exc
    part = Path(part)
    report(message(f"Downloading the pretrained weights (about {approx_download_mb(alpha)} MB, "
                   "once; they make a good model from a few images per class)…"))
    try:
        with os.fdopen(handle, "wb") as out:
            _fetch(url, out, report, should_stop)
        check_imagenet_file(part, alpha)
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)  # cancelled, interrupted, damaged: never used, never kept
    report(message(f"Downloaded the pretrained weights into {folder}."))
    return target


def _remove_stale_parts(folder: Path, name: str) -> None:
    for stale in folder.glob(name + ".*.part"):
        try:
            if time.time() - stale.stat().st_mtime > _STALE_PART_S:
                stale.unlink()
        except OSError:
            pass  # another process's download, or gone already


def _fetch(url: str, out, report, should_stop) -> None:
    host = urlparse(url).hostname or url
    throttle = Throttle(report, 5.0)
    request = urllib.request.Request(url, headers={"User-Agent": "mbv2gui"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            done = 0
            while True:
                if should_stop():
                    raise JobCancelled()
                chunk = response.read(CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                done += len(chunk)
                throttle(progress(done, total, _progress_words(done, total)))
            throttle(progress(done, total, _progress_words(done, total)), force=True)
    except urllib.error.HTTPError as exc:
        raise _unavailable(f"{host} answered “{exc.code} {exc.reason}”", url) from exc
    except urllib.error.URLError as exc:
        reason = exc.reason
        why = (f"no answer from {host} in {TIMEOUT_S} s" if isinstance(reason, socket.timeout)
               else f"no connection to {host}")
        raise _unavailable(why, f"{url}: {reason}") from exc
    except (socket.timeout, TimeoutError) as exc:
        raise _unavailable(f"{host} stopped sending for {TIMEOUT_S} s", url) from exc
    except (http.client.HTTPException, ConnectionError, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno in _DISK_FULL:
            raise WeightsUnavailable("The disk is full: the pretrained weights could not be "
                                     "saved. Free some space, choose a weights file, or train "
                                     "from scratch.", str(exc)) from exc
        raise _unavailable(f"the connection to {host} broke off", f"{url}: {exc}") from exc
    if total is not None and done < total:
        raise _unavailable(f"the connection to {host} broke off after {done / 1e6:.1f} of "
                           f"{total / 1e6:.1f} MB", url)


def _progress_words(done: int, total: int | None) -> str:
    of = f" of {total / 1e6:.1f}" if total else ""
    return f"Downloading the pretrained weights: {done / 1e6:.1f}{of} MB"


def check_imagenet_file(path, alpha: float) -> None:
    """Refuses (WeightsUnavailable) a downloaded file that is not MobileNetV2's weights at
    this alpha: an HTML error page, a truncated file, another model's weights."""
    import h5py

    from mbv2gui.core.training.start_point import expected_channels, h5_backbone_channels

    try:
        with h5py.File(path, "r") as f:
            channels = h5_backbone_channels(f)
            arrays = []
            f.visititems(lambda _, item: arrays.append(item) if isinstance(item, h5py.Dataset)
                         else None)
            for array in arrays:  # every byte read: a truncated file fails here
                array[()]
    except Exception as exc:  # noqa: BLE001 - h5py raises OSError, KeyError, ValueError…
        raise WeightsUnavailable("The downloaded file is not a weights file (damaged or cut "
                                 f"short) and was deleted. {_ADVICE}", str(exc)) from exc
    if channels != expected_channels(alpha):
        raise WeightsUnavailable("The downloaded file holds other weights than MobileNetV2's "
                                 f"at alpha {alpha} and was deleted (check the mirror's "
                                 f"files). {_ADVICE}", f"{path}: channels {channels}")
