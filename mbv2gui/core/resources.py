"""Where the app's own files are: `resources/` next to the `mbv2gui/` package in a source
checkout, or inside a PyInstaller bundle (`sys._MEIPASS`), which the spec lays out the same way."""

from __future__ import annotations

import sys
from pathlib import Path


def resources_root() -> Path:
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def resource_path(*parts: str) -> Path:
    """The path of a resource file (it may not exist: callers check)."""
    return resources_root().joinpath(*parts)
