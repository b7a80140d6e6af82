"""Which weights the backbone starts from, and one plain sentence saying so.

`config.weights` is 'auto' (ImageNet if it can be had offline, else from scratch), 'imagenet'
(Keras' cache, a file bundled with the app, or a download where there is network), 'none', or
the path of a weights file. ImageNet files are looked for, in order, in MBV2GUI_WEIGHTS_DIR,
the Keras cache (~/.keras/models) and the app's bundled `resources/weights`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from mbv2gui.core.errors import UserError
from mbv2gui.core.resources import resource_path

IMAGENET_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
IMAGENET_SIZES = (96, 128, 160, 192, 224)
_URL = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"


@dataclass(frozen=True)
class Weights:
    kind: str  # 'imagenet' | 'file' | 'none'
    path: str | None  # the file loaded into the backbone, or None
    sentence: str  # what the user is told (and what metrics.json keeps)
    identity: str  # part of the feature-cache key: the same identity means the same features

    @property
    def pretrained(self) -> bool:
        return self.kind != "none"


def imagenet_file_name(alpha: float, size: int) -> str:
    # Keras' own name for the file, so the cache it fills is the one we read.
    return f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{int(size)}_no_top.h5"


def keras_cache_dir() -> Path:
    base = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(base) / "models"


def imagenet_search_dirs() -> list[Path]:
    dirs = [keras_cache_dir(), resource_path("weights")]
    if os.environ.get("MBV2GUI_WEIGHTS_DIR"):
        dirs.insert(0, Path(os.environ["MBV2GUI_WEIGHTS_DIR"]))
    return dirs


def imagenet_supported(alpha: float, size: int) -> bool:
    return float(alpha) in IMAGENET_ALPHAS and int(size) in IMAGENET_SIZES


def find_imagenet(alpha: float, size: int) -> Path | None:
    name = imagenet_file_name(alpha, size)
    return next((d / name for d in imagenet_search_dirs() if (d / name).is_file()), None)


def _unsupported(alpha: float, size: int) -> UserError:
    return UserError(
        f"ImageNet weights exist only for alpha {', '.join(map(str, IMAGENET_ALPHAS))} and image "
        f"sizes {', '.join(map(str, IMAGENET_SIZES))} (not alpha {alpha} at {size} px); "
        "choose one of those, or train from scratch.")


def _imagenet(path: Path, alpha: float, size: int) -> Weights:
    return Weights("imagenet", str(path),
                   f"Starting from ImageNet weights (alpha {alpha}, {size} px): a good model "
                   "needs only a few images per class.", f"imagenet-{float(alpha)}-{int(size)}")


def _download(alpha: float, size: int) -> Path | None:
    from mbv2gui.core.training.tfsetup import keras

    name = imagenet_file_name(alpha, size)
    try:
        return Path(keras().utils.get_file(name, _URL + name, cache_subdir="models"))
    except Exception:  # no network, proxy, disk full: all mean "not available here"
        return None


def _file_identity(path: Path) -> str:
    stat = path.stat()
    key = f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    return "file-" + hashlib.sha1(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def resolve_weights(choice: str, alpha: float, size: int, allow_download: bool = True) -> Weights:
    """The weights to use for `choice`, or a UserError saying in one sentence why not."""
    choice = (choice or "auto").strip()
    name = imagenet_file_name(alpha, size)
    folder = keras_cache_dir()
    if choice == "none":
        return Weights("none", None, "Training from scratch (no pretrained weights): this needs "
                       "many images per class and more time.", "none")
    if choice == "auto":
        found = find_imagenet(alpha, size) if imagenet_supported(alpha, size) else None
        if found:
            return _imagenet(found, alpha, size)
        why = (f"ImageNet weights do not exist for alpha {alpha} at {size} px"
               if not imagenet_supported(alpha, size) else
               f"the ImageNet weights file {name} is not in {folder}")
        return Weights("none", None, f"Training from scratch because {why}; expect lower accuracy "
                       "than with pretrained weights, and put the file there to use them.", "none")
    if choice == "imagenet":
        if not imagenet_supported(alpha, size):
            raise _unsupported(alpha, size)
        found = find_imagenet(alpha, size) or (_download(alpha, size) if allow_download else None)
        if not found:
            raise UserError(f"The ImageNet weights file {name} is not in {folder} and could not "
                            "be downloaded; copy it into that folder, or choose 'auto' or 'none'.")
        return _imagenet(found, alpha, size)
    path = Path(choice).expanduser()
    if not path.is_file():
        raise UserError(f"The weights file {path} does not exist; choose an existing file, "
                        "or 'auto', 'imagenet' or 'none'.")
    return Weights("file", str(path), f"Starting from the weights in {path.name}.",
                   _file_identity(path))
