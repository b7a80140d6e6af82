"""Import: folder trees (class subfolders), loose files, CSV lists, cancel, batches."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from imagefiles import non_utf8_name, write_image
from mbv2gui.core.files import importer
from mbv2gui.core.errors import UserError
from mbv2gui.core.files.importer import ImportSummary, import_csv, import_paths
from mbv2gui.core.store.project import Project


class Events(list):
    def __call__(self, event):
        self.append(event)

    def of(self, kind):
        return [e for e in self if e["type"] == kind]


def never():
    return False


@pytest.fixture
def project_path(tmp_path):
    project = Project.create(tmp_path / "proj")
    project.close()
    return project.path


def records(project_path):
    project = Project.open(project_path)
    try:
        names = {c.id: c.name for c in project.classes()}
        return {Path(r.path).name: (names.get(r.class_id), r.status, r.reason, r.width)
                for r in project.images()}
    finally:
        project.close()


def make_tree(root: Path) -> Path:
    """data/cat/{c1,c2}.png, data/cat/deep/c3.png, data/dog/d1.jpg, data/loose.png,
    data/readme.txt, data/dog/broken.jpg, data/dog/copy_of_c1.png, data/dog/loop -> data."""
    data = root / "data"
    write_image(data / "cat" / "c1.png", (255, 0, 0))
    write_image(data / "cat" / "c2.png", (250, 0, 0))
    write_image(data / "cat" / "deep" / "c3.png", (245, 0, 0))
    write_image(data / "dog" / "d1.jpg", (0, 0, 255))
    write_image(data / "loose.png", (0, 255, 0))
    (data / "readme.txt").write_text("not an image")
    (data / "dog" / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    (data / "dog" / "copy_of_c1.png").write_bytes((data / "cat" / "c1.png").read_bytes())
    (data / ".DS_Store").write_bytes(b"\0\0")
    os.symlink(data, data / "dog" / "loop")
    (data / "empty_class").mkdir()
    return data


@pytest.mark.parametrize("threads", [1, 3])
def test_folder_tree_import(tmp_path, project_path, monkeypatch, threads):
    # Tiny files are read by one thread; force the many-thread path (used for photos) too.
    monkeypatch.setattr(importer, "WORKERS", threads)
    monkeypatch.setattr(importer, "PARALLEL_FROM_BYTES", 0)
    data = make_tree(tmp_path)
    events = Events()
    summary = import_paths(project_path, [str(data)], events, never)
    found = records(project_path)
    assert found.keys() == {"c1.png", "c2.png", "c3.png", "d1.jpg", "loose.png", "broken.jpg"}
    assert [found[n][0] for n in ("c1.png", "c2.png", "c3.png", "d1.jpg", "loose.png")] == \
        ["cat", "cat", "cat", "dog", None]
    assert found["c1.png"][1:] == ("ok", None, 24)
    assert found["broken.jpg"][:2] == ("dog", "unreadable") and "not an image" in found["broken.jpg"][2]
    assert summary.classes_created == ["cat", "dog"] and not summary.cancelled
    assert [Path(p).name for p in summary.duplicates] == ["copy_of_c1.png"]
    assert summary.non_images == 1  # readme.txt; .DS_Store is hidden, not counted
    assert [Path(p).name for p, _ in summary.unreadable] == ["broken.jpg"]
    assert len(summary.added_ids) == 6
    assert summary.sentence() == ("Imported 6 images into 2 classes (1 unlabeled); 1 duplicate and "
                                  "1 non-image file were skipped; 1 image cannot be read.")
    assert sorted(i for e in events.of("images_added") for i in e["ids"]) == sorted(summary.added_ids)
    last = events.of("progress")[-1]
    assert last["done"] == last["total"] == 7  # image names; the loop is not walked twice
    assert events.of("progress")[0]["message"].startswith("Counting")

    again = import_paths(project_path, [str(data)], Events(), never)
    assert again.added_ids == [] and len(again.duplicates) == 7
    assert again.sentence().startswith("No new images were imported; 7 duplicates")


def test_loose_files_and_flat_folder_arrive_unlabeled(tmp_path, project_path):
    single = write_image(tmp_path / "one.png", (1, 1, 1))
    flat = tmp_path / "flat"
    write_image(flat / "a.png", (2, 2, 2))
    write_image(flat / "b.bmp", (3, 3, 3))
    (tmp_path / "notes.txt").write_text("x")
    summary = import_paths(project_path, [single, flat, tmp_path / "notes.txt"], Events(), never)
    assert {n: v[0] for n, v in records(project_path).items()} == {"one.png": None, "a.png": None, "b.bmp": None}
    assert summary.non_images == 1 and summary.classes_created == []
    assert summary.sentence() == "Imported 3 unlabeled images; 1 non-image file was skipped."


def test_same_file_twice_and_a_pipe(tmp_path, project_path):
    one = write_image(tmp_path / "in" / "cls" / "one.png")
    os.mkfifo(tmp_path / "in" / "cls" / "pipe.jpg")  # reading it would block forever
    summary = import_paths(project_path, [tmp_path / "in", one], Events(), never)
    assert [Path(p).name for p in summary.duplicates] == ["one.png"]
    assert summary.labels == {"cls": 2} and summary.unlabeled == 0
    assert records(project_path)["pipe.jpg"][1:3] == ("unreadable", "it is not a regular file")


def test_skips_this_projects_sidecar(tmp_path, project_path):
    write_image(tmp_path / "imgs" / "a.png")
    write_image(Project.open(project_path).sidecar / "thumbs" / "t.jpg")  # a thumbnail
    summary = import_paths(project_path, [tmp_path], Events(), never)
    assert list(records(project_path)) == ["a.png"] and summary.classes_created == ["imgs"]


def test_odd_names(tmp_path, project_path):
    folder = tmp_path / "data"
    odd_class = non_utf8_name(folder, b"cl\xe4ss", "")
    write_image(os.path.join(odd_class, "x.png"), (5, 5, 5))
    write_image(non_utf8_name(folder / "Ü图", b"\xff", ".png"), (6, 6, 6))
    summary = import_paths(project_path, str(folder), Events(), never)
    assert len(summary.added_ids) == 2 and "Ü图" in summary.classes_created
    assert any(name.startswith("cl") for name in summary.classes_created)


def test_many_files_arrive_in_batches_and_cancel_keeps_them(tmp_path, project_path, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_FILES", 10)
    monkeypatch.setattr(importer, "BATCH_SECONDS", 60)
    for i in range(60):
        write_image(tmp_path / "many" / "k" / f"{i:03}.png", (i, 2 * i, 3 * i), size=(8, 8))
    events = Events()
    summary = import_paths(project_path, [tmp_path / "many"], events, never)
    batches = [e["ids"] for e in events.of("images_added")]
    assert [len(b) for b in batches] == [10] * 6 and len(summary.added_ids) == 60

    other = Project.create(tmp_path / "second")
    other.close()
    events = Events()

    def stop_after_25():
        return len([i for e in events.of("images_added") for i in e["ids"]]) >= 25

    summary = import_paths(other.path, [tmp_path / "many"], events, stop_after_25)
    assert summary.cancelled and summary.sentence().startswith("The import was cancelled.")
    kept = len(records(other.path))
    assert 30 <= kept < 60 and kept == len(summary.added_ids)


def test_cancel_while_counting(tmp_path, project_path):
    write_image(tmp_path / "a" / "x.png")
    summary = import_paths(project_path, [tmp_path / "a"], Events(), lambda: True)
    assert summary.cancelled and summary.added_ids == [] and records(project_path) == {}


def test_csv_import(tmp_path, project_path):
    write_image(tmp_path / "imgs" / "a.png", (10, 0, 0))
    write_image(tmp_path / "imgs" / "b.png", (20, 0, 0))
    write_image(tmp_path / "elsewhere" / "c.png", (30, 0, 0))
    odd = write_image(non_utf8_name(tmp_path / "imgs", b"\xe9t\xe9"), (40, 0, 0))
    (tmp_path / "lists").mkdir()
    csv_path = tmp_path / "lists" / "labels.csv"
    rows = [b"path,label", b"../imgs/a.png,rose", b"../imgs/b.png,", os.fsencode(str(tmp_path / "elsewhere" / "c.png")) + b",tulip",
            b"", b"../imgs/nothing.png,rose", b"../imgs/a.png,rose,extra", b"../imgs/notes.txt,rose",
            b"\"../imgs/\xe9t\xe9.png\",\"tulip\"", b"../imgs/b.png,\xffx"]
    csv_path.write_bytes(b"\n".join(rows) + b"\n")
    summary = import_csv(project_path, csv_path, Events(), never)
    found = records(project_path)
    assert {n: v[0] for n, v in found.items()} == {"a.png": "rose", "b.png": None, "c.png": "tulip",
                                                   os.path.basename(str(odd)): "tulip"}
    assert [line for line, _ in summary.bad_rows] == [6, 7, 8, 10]
    assert summary.bad_rows[3][1] == "the label is not valid text"
    assert "no file" in summary.bad_rows[0][1] and "3 columns" in summary.bad_rows[1][1]
    assert "4 unusable CSV rows" in summary.sentence()
    assert "CSV line 6" in summary.details()


def test_csv_without_header_and_unreadable_csv(tmp_path, project_path):
    write_image(tmp_path / "a.png")
    (tmp_path / "l.csv").write_text("a.png,cat\n")
    assert import_csv(project_path, tmp_path / "l.csv", Events(), never).classes_created == ["cat"]
    (tmp_path / "h.csv").write_text("image_path;x,Label\na.png,dog\n")  # a header by its label
    again = import_csv(project_path, tmp_path / "h.csv", Events(), never)
    assert again.bad_rows == [] and len(again.duplicates) == 1
    with pytest.raises(UserError, match="cannot be read"):
        import_csv(project_path, tmp_path / "missing.csv", Events(), never)


def test_sentence_wording():
    summary = ImportSummary(added_ids=list(range(1203)), duplicates=["d"] * 4, non_images=12,
                            unreadable=[("x", "r")] * 2, labels={"a": 1, "b": 2, "c": 1200})
    assert summary.sentence() == ("Imported 1,203 images into 3 classes; 4 duplicates and 12 "
                                  "non-image files were skipped; 2 images cannot be read.")
