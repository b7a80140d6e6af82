"""QSettings for window state and recent projects, in one place so tests can redirect them."""

from __future__ import annotations

import os

from PySide6.QtCore import QSettings

ORGANIZATION = "mbv2gui"
APPLICATION = "mbv2gui"
MAX_RECENT = 10


def settings() -> QSettings:
    """The app's settings; under MBV2GUI_SETTINGS_DIR when set (tests, portable use)."""
    folder = os.environ.get("MBV2GUI_SETTINGS_DIR")
    if folder:
        return QSettings(os.path.join(folder, "mbv2gui.ini"), QSettings.Format.IniFormat)
    return QSettings(ORGANIZATION, APPLICATION)


def recent_projects() -> list[str]:
    value = settings().value("recentProjects", [])
    if isinstance(value, str):  # QSettings gives a bare string for a one-item list
        value = [value]
    return [path for path in (value or []) if os.path.exists(path)]


def remember_project(path: str) -> None:
    path = os.path.abspath(path)
    recent = [path] + [p for p in recent_projects() if p != path]
    settings().setValue("recentProjects", recent[:MAX_RECENT])
