"""Each test starts with empty settings: nothing one test remembers leaks into the next."""

import os

import pytest

from mbv2gui.gui.shell import settings as app_settings


@pytest.mark.parametrize("turn", ["first", "second"])
def test_each_test_starts_with_empty_settings(tmp_path, _settings_in_temporary_folder, turn):
    assert os.environ["MBV2GUI_SETTINGS_DIR"] == str(_settings_in_temporary_folder)
    assert app_settings.settings().allKeys() == []  # the other turn's project is not here
    project = tmp_path / f"{turn}.mbv2"
    project.write_bytes(b"")
    app_settings.remember_project(str(project))
    assert app_settings.recent_projects() == [str(project)]
