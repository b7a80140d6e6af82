"""The check on open: moved, deleted and modified files are flagged; relinking heals them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from imagefiles import write_image
from mbv2gui.core.files import filecheck
from mbv2gui.core.files.filecheck import check_files
from mbv2gui.core.files.importer import import_paths
from mbv2gui.core.store.project import Project


def never():
    return False


def quiet(event):
    pass


@pytest.fixture
def imported(tmp_path):
    """A project with data/cat/{a,b,c}.png imported."""
    for name, color in (("a", (255, 0, 0)), ("b", (0, 255, 0)), ("c", (0, 0, 255))):
        write_image(tmp_path / "data" / "cat" / f"{name}.png", color)
    project = Project.create(tmp_path / "proj")
    project.close()
    import_paths(project.path, [tmp_path / "data"], quiet, never)
    return project.path, tmp_path / "data"


def statuses(project_path):
    project = Project.open(project_path)
    try:
        return {Path(r.path).name: (r.status, r.reason) for r in project.images()}
    finally:
        project.close()


def test_nothing_changed_is_a_stat_only(imported, monkeypatch):
    project_path, _ = imported

    def no_reading(*args):
        raise AssertionError("an unchanged file was read")
    monkeypatch.setattr(filecheck, "content_hash", no_reading)
    result = check_files(project_path, quiet, never)
    assert result["counts"] == {"ok": 3} and result["checked"] == 3
    assert result["missing"] == result["changed"] == result["restored"] == []


def test_deleted_moved_and_modified_files(imported):
    project_path, data = imported
    os.remove(data / "cat" / "a.png")
    os.rename(data / "cat" / "b.png", data / "b_moved.png")
    original_c = (data / "cat" / "c.png").read_bytes()
    write_image(data / "cat" / "c.png", (1, 2, 3))  # new content in the same place
    events = []
    result = check_files(project_path, events.append, never)
    found = statuses(project_path)
    assert found["a.png"][0] == found["b.png"][0] == "missing" and "moved" in found["a.png"][1]
    assert found["c.png"][0] == "changed" and "content" in found["c.png"][1]
    assert result["counts"] == {"missing": 2, "changed": 1}
    assert len(result["missing"]) == 2 and len(result["changed"]) == 1
    assert events[-1] == {"type": "progress", "done": 3, "total": 3,
                          "message": "Checking the image files…"}

    # A second check on open finds the same (and says so) without writing anything new.
    assert check_files(project_path, quiet, never)["counts"] == result["counts"]

    # The old content back in place: ok again, as is the moved file once it returns.
    (data / "cat" / "c.png").write_bytes(original_c)
    os.rename(data / "b_moved.png", data / "cat" / "b.png")
    result = check_files(project_path, quiet, never)
    assert statuses(project_path)["c.png"] == ("ok", None) == statuses(project_path)["b.png"]
    assert len(result["restored"]) == 2 and result["counts"] == {"ok": 2, "missing": 1}


def test_touched_or_copied_file_stays_ok_and_is_cheap_next_time(imported, monkeypatch):
    project_path, data = imported
    path = data / "cat" / "a.png"
    os.utime(path, (1_000_000, 1_000_000))
    assert check_files(project_path, quiet, never)["counts"] == {"ok": 3}
    monkeypatch.setattr(filecheck, "content_hash", lambda *a: pytest.fail("re-hashed again"))
    assert check_files(project_path, quiet, never)["counts"] == {"ok": 3}


def test_relinking_a_moved_folder_makes_images_ok_again(imported, tmp_path):
    project_path, data = imported
    shutil.copytree(data, tmp_path / "new_place")  # a copy: new mtimes, same content
    shutil.rmtree(data)
    assert check_files(project_path, quiet, never)["counts"] == {"missing": 3}
    project = Project.open(project_path)
    try:
        assert project.relink(str(data), str(tmp_path / "new_place")) == 3
    finally:
        project.close()
    result = check_files(project_path, quiet, never)
    assert result["counts"] == {"ok": 3} and len(result["restored"]) == 3
    assert all(status == ("ok", None) for status in statuses(project_path).values())


def test_unreadable_file_coming_back_stays_unreadable(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "bad.jpg").write_bytes(b"not a jpeg")
    project = Project.create(tmp_path / "p")
    project.close()
    import_paths(project.path, [tmp_path / "d"], quiet, never)
    os.rename(tmp_path / "d" / "bad.jpg", tmp_path / "bad.jpg")
    assert check_files(project.path, quiet, never)["counts"] == {"missing": 1}
    os.rename(tmp_path / "bad.jpg", tmp_path / "d" / "bad.jpg")
    assert check_files(project.path, quiet, never)["counts"] == {"unreadable": 1}
    assert "not an image" in statuses(project.path)["bad.jpg"][1]


def test_cancel_stops_early(imported):
    project_path, data = imported
    os.remove(data / "cat" / "a.png")
    result = check_files(project_path, quiet, lambda: True)
    assert result["cancelled"] and result["counts"] == {"ok": 3}  # nothing was looked at
