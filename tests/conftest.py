"""Shared test set-up: no display, quiet TensorFlow, and QSettings in a fresh folder per test."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MBV2GUI_SETTINGS_DIR", "")  # filled per test below

import pytest


@pytest.fixture(autouse=True)
def _settings_in_temporary_folder(tmp_path_factory, monkeypatch):
    """The app keeps window state, recent projects and last-used folders in QSettings; tests
    must never touch the developer's own, nor see what an earlier test left there (a recent
    project or a saved splitter would make a test's result depend on the order tests run in).
    mbv2gui.gui.shell.settings reads MBV2GUI_SETTINGS_DIR on every use, so a fresh folder per
    test is enough."""
    folder = tmp_path_factory.mktemp("settings")
    monkeypatch.setenv("MBV2GUI_SETTINGS_DIR", str(folder))
    yield folder
