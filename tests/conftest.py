"""Shared test set-up: no display, quiet TensorFlow, and QSettings in a temporary folder."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MBV2GUI_SETTINGS_DIR", "")  # filled per session below

import pytest


@pytest.fixture(autouse=True, scope="session")
def _settings_in_temporary_folder(tmp_path_factory):
    """The app keeps window state and recent projects in QSettings; tests must never touch the
    developer's own. mbv2gui.gui.shell.settings reads MBV2GUI_SETTINGS_DIR."""
    folder = tmp_path_factory.mktemp("settings")
    os.environ["MBV2GUI_SETTINGS_DIR"] = str(folder)
    yield folder
