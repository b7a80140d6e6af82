"""Prints, separated by os.pathsep, the ImageNet weight files the build bundles: MobileNetV2
(no top) for the app's default settings and for alpha 1.0 at 224 px. Each is taken from
MBV2GUI_WEIGHTS_DIR or the Keras cache, else downloaded into the Keras cache by the app's own
route (mbv2gui.core.training.weights_download: the same mirror variable, the same checks). Progress and
warnings go to stderr.

Without network the build goes on without them and says loudly that its app will download
them on first use; with --release it exits 1 instead (a release must work offline).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mbv2gui.core.errors import UserError  # noqa: E402
from mbv2gui.core.training.train import TrainConfig  # noqa: E402
from mbv2gui.core.training.weights import find_imagenet  # noqa: E402
from mbv2gui.core.training.weights_download import download_imagenet  # noqa: E402

DEFAULTS = TrainConfig()
BUNDLED = ((DEFAULTS.alpha, DEFAULTS.image_size), (1.0, 224))


def _show(event: dict) -> None:
    if event.get("type") == "progress":
        print(f"\r  {event['message']}", end="", file=sys.stderr, flush=True)
    elif event.get("type") == "message":
        print(f"  {event['text']}", file=sys.stderr, flush=True)


def weight_files() -> tuple[list[Path], list[str]]:
    """(the files found or downloaded, a sentence for each one that could not be had)."""
    found, missing = [], []
    for alpha, size in BUNDLED:
        path = find_imagenet(alpha, size)
        if path is None:
            print(f"Fetching ImageNet weights for alpha {alpha} at {size} px…", file=sys.stderr)
            try:
                path = download_imagenet(alpha, size, _show)
                print(file=sys.stderr)
            except UserError as exc:
                missing.append(f"alpha {alpha} at {size} px: {exc.message}")
                continue
        found.append(path)
    return found, missing


def main(argv: list[str]) -> int:
    release = "--release" in argv
    found, missing = weight_files()
    for path in found:
        print(f"Bundling ImageNet weights: {path}", file=sys.stderr)
    if missing:
        line = "!" * 78
        print(f"\n{line}\n  THIS BUILD HAS NO PRETRAINED WEIGHTS FOR:\n" +
              "".join(f"    {m}\n" for m in missing) +
              ("  A release must work offline: not building.\n" if release else
               "  Its app will download them on first use (it needs the internet then).\n") +
              f"{line}\n", file=sys.stderr)
        if release:
            return 1
    print(os.pathsep.join(str(path) for path in found))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
