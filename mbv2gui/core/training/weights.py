"""Which weights the backbone starts from, and plain sentences saying so.

`config.weights` is one string:
  'auto'      ImageNet: the file bundled with the app, else the Keras cache, else downloaded
              once into the Keras cache (see core/training/weights_download.py); from scratch only
              when ImageNet has no file for the alpha and size.
  'imagenet'  the same, but an alpha or size ImageNet does not cover is an error.
  'none'      from scratch.
  a path      a weights file (.h5), a `.keras` model, or a run folder: an earlier model's
              backbone is the starting point (see core/training/start_point.py).
ImageNet files are looked for, in order, in MBV2GUI_WEIGHTS_DIR, the app's bundled
`resources/weights` and the Keras cache (KERAS_HOME or ~/.keras, then `models/`).

For the Train view, `describe_weights` says where the weights will come from without touching
the network or TensorFlow; `check_start_point` refuses an unusable file the moment it is chosen.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from mbv2gui.core.errors import UserError
from mbv2gui.core.jobs import ignore_events, never_stop
from mbv2gui.core.resources import resource_path

IMAGENET_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
IMAGENET_SIZES = (96, 128, 160, 192, 224)
DEFAULT_URL = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"
URL_VARIABLE = "MBV2GUI_WEIGHTS_URL"
# The size of each no-top file, for the sentence that says what a download costs.
_APPROX_MB = {0.35: 2, 0.5: 3, 0.75: 6, 1.0: 9, 1.3: 15, 1.4: 18}
_WHY = "they make a good model from a few images per class"
PRETRAINED_SHORT = "pretrained (ImageNet)"
SCRATCH_SHORT = "from scratch"


@dataclass(frozen=True)
class Weights:
    """What the backbone of one training is loaded with."""

    kind: str  # 'imagenet' | 'file' (an .h5 weights file) | 'model' (an earlier model) | 'none'
    path: str | None  # the file loaded into the backbone, or None
    sentence: str  # what the user is told (and what metrics.json keeps)
    identity: str  # part of the feature-cache key: the same identity means the same features
    short: str = ""  # a few words for a list of runs: "pretrained (ImageNet)", "from scratch"…

    @property
    def pretrained(self) -> bool:
        return self.kind != "none"


@dataclass(frozen=True)
class WeightsStatus:
    """Where the weights of a setting would come from, for the Train view (plain data).

    kind: 'bundled' | 'cached' | 'will_download' | 'your_file' | 'earlier_model' | 'none'
          | 'unsupported' (no ImageNet file for this alpha and size) | 'unusable' (the chosen
          file or run cannot be a starting point: `sentence` says why).
    """

    kind: str
    sentence: str
    pretrained: bool  # training would start from pretrained weights
    path: str | None = None
    short: str = ""


class WeightsUnavailable(UserError):
    """The pretrained weights could not be had (offline, refused, damaged download). `actions`
    are what the user can do next, for a window to show as buttons."""

    ACTIONS = ("retry", "choose_file", "from_scratch")

    def __init__(self, message: str, detail: str = "", actions: tuple = ACTIONS):
        super().__init__(message, detail, actions)

    def __reduce__(self):  # crosses a process boundary (the engine process) intact
        return (type(self), (self.message, self.detail, self.actions))


# ------------------------------------------------------------------------ ImageNet files
def imagenet_file_name(alpha: float, size: int) -> str:
    # Keras' own name for the file, so the cache it fills is the one we read.
    return f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{int(size)}_no_top.h5"


def imagenet_url(alpha: float, size: int, base_url: str | None = None) -> str:
    """Where to download from: `base_url` (a setting), else MBV2GUI_WEIGHTS_URL (a mirror),
    else Google's storage, as keras.applications uses."""
    base = base_url or os.environ.get(URL_VARIABLE) or DEFAULT_URL
    return base.rstrip("/") + "/" + imagenet_file_name(alpha, size)


def approx_download_mb(alpha: float) -> int:
    return _APPROX_MB.get(float(alpha), 10)


def keras_cache_dir() -> Path:
    base = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(base) / "models"


def bundled_weights_dir() -> Path:
    return resource_path("weights")


def imagenet_search_dirs() -> list[Path]:
    dirs = [bundled_weights_dir(), keras_cache_dir()]
    if os.environ.get("MBV2GUI_WEIGHTS_DIR"):
        dirs.insert(0, Path(os.environ["MBV2GUI_WEIGHTS_DIR"]))
    return dirs


def imagenet_supported(alpha: float, size: int) -> bool:
    return float(alpha) in IMAGENET_ALPHAS and int(size) in IMAGENET_SIZES


def find_imagenet(alpha: float, size: int) -> Path | None:
    name = imagenet_file_name(alpha, size)
    return next((d / name for d in imagenet_search_dirs() if (d / name).is_file()), None)


def bundled_imagenet_files() -> list[str]:
    """The ImageNet files inside the app (for the smoke test's report)."""
    folder = bundled_weights_dir()
    return sorted(p.name for p in folder.glob("mobilenet_v2_weights_*_no_top.h5")) \
        if folder.is_dir() else []


def _unsupported_sentence(alpha: float, size: int) -> str:
    return (f"ImageNet weights exist only for alpha {', '.join(map(str, IMAGENET_ALPHAS))} and "
            f"image sizes {', '.join(map(str, IMAGENET_SIZES))} px (not alpha {alpha} at "
            f"{size} px)")


def _imagenet(path: Path, alpha: float, size: int) -> Weights:
    return Weights("imagenet", str(path),
                   f"Starting from ImageNet weights (alpha {alpha}, {size} px): a good model "
                   "needs only a few images per class.", f"imagenet-{float(alpha)}-{int(size)}",
                   PRETRAINED_SHORT)


SCRATCH = Weights("none", None, "Training from scratch (no pretrained weights): this needs many "
                  "images per class and more time.", "none", SCRATCH_SHORT)


def _is_keyword(choice: str) -> bool:
    return choice in ("auto", "imagenet", "none")


# ------------------------------------------------------------------------ for training
def resolve_weights(choice: str, alpha: float, size: int, allow_download: bool = True,
                    report=ignore_events, should_stop=never_stop,
                    base_url: str | None = None) -> Weights:
    """The weights to use for `choice`, downloading ImageNet's once when allowed (events go
    to `report`, `should_stop` cancels). Raises WeightsUnavailable (offline, refused, damaged
    download), JobCancelled, or a UserError for a file that cannot be a starting point.
    With allow_download=False a missing ImageNet file means from scratch (never the network:
    cheap enough for any thread)."""
    choice = (choice or "auto").strip()
    if choice == "none":
        return SCRATCH
    if not _is_keyword(choice):
        from mbv2gui.core.training.start_point import check_start_point

        return check_start_point(choice, alpha, size)
    if not imagenet_supported(alpha, size):
        if choice == "imagenet":
            raise UserError(_unsupported_sentence(alpha, size) + "; choose one of those, or "
                            "train from scratch.")
        return Weights("none", None, f"Training from scratch: {_unsupported_sentence(alpha, size)};"
                       " expect lower accuracy than with pretrained weights.", "none",
                       SCRATCH_SHORT)
    found = find_imagenet(alpha, size)
    if found is None and allow_download:
        from mbv2gui.core.training.weights_download import download_imagenet

        found = download_imagenet(alpha, size, report, should_stop, base_url)
    if found is None:
        return Weights("none", None, "Training from scratch for now: the pretrained weights "
                       f"have not been downloaded yet (about {approx_download_mb(alpha)} MB, "
                       f"once; {_WHY}).", "none", SCRATCH_SHORT)
    return _imagenet(found, alpha, size)


# ------------------------------------------------------------------------ for the Train view
def _day(timestamp: float) -> str:
    """"6 Dec 2026": a date a person reads, the same on every platform."""
    t = time.localtime(timestamp)
    return f"{t.tm_mday} {time.strftime('%b %Y', t)}"


def describe_weights(choice: str, alpha: float, size: int,
                     base_url: str | None = None) -> WeightsStatus:
    """Where the weights of this setting would come from, in words. No network, no
    TensorFlow: cheap enough to call on every change of the form."""
    choice = (choice or "auto").strip()
    if choice == "none":
        return WeightsStatus("none", "Training from scratch (no pretrained weights): this needs "
                             "many images per class and more time.", False, None, SCRATCH_SHORT)
    if not _is_keyword(choice):
        from mbv2gui.core.training.start_point import check_start_point

        try:
            weights = check_start_point(choice, alpha, size)
        except UserError as exc:
            return WeightsStatus("unusable", exc.message, False, choice, "")
        kind = "earlier_model" if weights.kind == "model" else "your_file"
        return WeightsStatus(kind, weights.sentence, True, weights.path, weights.short)
    if not imagenet_supported(alpha, size):
        ending = ("; choose one of those, or train from scratch." if choice == "imagenet" else
                  "; training starts from scratch (expect lower accuracy).")
        return WeightsStatus("unsupported", _unsupported_sentence(alpha, size) + ending, False,
                             None, SCRATCH_SHORT)
    found = find_imagenet(alpha, size)
    if found is None:
        from urllib.parse import urlparse

        host = urlparse(imagenet_url(alpha, size, base_url)).hostname or "the mirror"
        return WeightsStatus("will_download", "Pretrained weights will be downloaded from "
                             f"{host} when you start (about {approx_download_mb(alpha)} MB, once; "
                             f"{_WHY}).", True, None, PRETRAINED_SHORT)
    if found.parent == bundled_weights_dir():
        return WeightsStatus("bundled", f"Pretrained on ImageNet (included with the app): {_WHY}"
                             ".", True, str(found), PRETRAINED_SHORT)
    return WeightsStatus("cached", f"Pretrained on ImageNet (downloaded on "
                         f"{_day(found.stat().st_mtime)}): {_WHY}.",
                         True, str(found), PRETRAINED_SHORT)
