"""The project's data folder: the one place that knows its name and layout.

Beside `Birds.mbv2` lies `Birds.mbv2-data/`, holding what can be made again or was made by the
app, never the user's images:

    runs/<run id>/            one folder per training (core/runs.py owns what is inside)
    features/<backbone key>/  the feature cache (core/training/features.py)
    thumbnails/<size px>/     the gallery's and the review galleries' thumbnails

Everyone who reads or writes there asks this module for the folder, so the layout can change in
one place. Without a project (training on a plain folder), runs and features go to the user's
own data and cache folders.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_SUFFIX = ".mbv2"
DATA_FOLDER_SUFFIX = PROJECT_SUFFIX + "-data"


def sidecar_for(project_file: str | os.PathLike) -> Path:
    """The data folder beside a project file."""
    project_file = Path(project_file)
    return project_file.with_name(project_file.name + "-data")


def is_data_folder(name: str) -> bool:
    """Whether a folder's name is a project's data folder (the folder walker skips them)."""
    return name.endswith(DATA_FOLDER_SUFFIX)


def runs_folder(project_file: str | os.PathLike | None) -> Path:
    """Where a project's runs are saved; None: a training on a plain folder."""
    if project_file is None:
        return Path.home() / ".local" / "share" / "mbv2gui" / "runs"
    return sidecar_for(project_file) / "runs"


def features_folder(project_file: str | os.PathLike | None) -> Path:
    """Where the feature cache lives; None: the user's cache folder (a plain folder)."""
    if project_file is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return Path(base) / "mbv2gui" / "features"
    return sidecar_for(project_file) / "features"


def thumbnails_folder(project_file: str | os.PathLike, size_px: int) -> Path:
    """One folder per thumbnail size, so galleries of the same size share one cache."""
    return sidecar_for(project_file) / "thumbnails" / str(int(size_px))
