"""The project store: classes, labels, splits, undo return values, reopening, a newer
version. Damaged, read-only and full project files: test_store_damage.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from imagefiles import non_utf8_name
from mbv2gui.core.errors import UserError
from mbv2gui.core.store.project import NewImage, Project


def fake(path, digest, label=None, **extra) -> NewImage:
    """Rows for the store only: add_images never opens the files."""
    return NewImage(str(path), 10, 1.5, digest, 8, 6, label=label, **extra)


@pytest.fixture
def project(tmp_path):
    project = Project.create(tmp_path / "p")
    yield project
    project.close()


def test_create_adds_suffix_and_refuses_to_overwrite(tmp_path):
    project = Project.create(tmp_path / "plants")
    assert project.path.name == "plants.mbv2" and project.sidecar.is_dir()
    project.close()
    with pytest.raises(UserError, match="already exists"):
        Project.create(tmp_path / "plants.mbv2")
    with pytest.raises(UserError, match="no project"):
        Project.open(tmp_path / "nothing.mbv2")


def test_classes_crud(project):
    cat, dog = project.add_class("cat"), project.add_class(" dog ")
    assert project.class_names() == ["cat", "dog"] and dog.name == "dog"
    assert cat.color != dog.color and dog.position == cat.position + 1
    with pytest.raises(UserError, match="already a class"):
        project.add_class("cat")
    with pytest.raises(UserError, match="needs a name"):
        project.add_class("   ")
    project.rename_class(cat.id, "kitten")
    project.rename_class(cat.id, "kitten")  # renaming to its own name is fine
    with pytest.raises(UserError):
        project.rename_class(cat.id, "dog")
    project.set_class_color(dog.id, "#123456")
    assert [(c.name, c.color) for c in project.classes()] == [("kitten", cat.color), ("dog", "#123456")]


def test_labels_and_undo_round_trip(project, tmp_path):
    ids, _ = project.add_images([fake(tmp_path / f"{i}.png", f"h{i}") for i in range(4)])
    cat, dog = project.add_class("cat").id, project.add_class("dog").id
    first = project.label_images(ids[:3], cat)
    assert first == {ids[0]: None, ids[1]: None, ids[2]: None}
    second = project.set_labels({ids[0]: dog, ids[3]: dog})
    assert second == {ids[0]: cat, ids[3]: None}
    assert [r.class_id for r in project.images()] == [dog, cat, cat, dog]
    project.set_labels(second)   # undo the second
    project.set_labels(first)    # undo the first
    assert [r.class_id for r in project.images()] == [None] * 4
    assert project.class_counts() == {None: 4}


def test_delete_class_unlabels_and_undo_restores(project, tmp_path):
    ids, _ = project.add_images([fake(tmp_path / f"{i}.png", f"h{i}", "cat") for i in range(3)])
    cat = project.class_by_name("cat")
    moved = project.delete_class(cat.id)
    assert sorted(moved) == sorted(ids)
    assert project.class_names() == [] and all(r.class_id is None for r in project.images())
    # Undo: the class with its old id, color and place, then its images.
    project.add_class(cat.name, cat.color, cat.id, cat.position)
    project.label_images(moved, cat.id)
    assert project.class_by_name("cat") == cat
    assert project.class_counts() == {cat.id: 3}


def test_merge_classes_and_undo(project, tmp_path):
    project.add_images([fake(tmp_path / "a.png", "a", "cat"), fake(tmp_path / "b.png", "b", "kitty"),
                        fake(tmp_path / "c.png", "c", "kitty")])
    cat, kitty = project.class_by_name("cat"), project.class_by_name("kitty")
    moved = project.merge_classes(kitty.id, cat.id)
    assert len(moved) == 2 and project.class_names() == ["cat"]
    assert project.class_counts() == {cat.id: 3}
    project.add_class(kitty.name, kitty.color, kitty.id, kitty.position)
    project.label_images(moved, kitty.id)
    assert project.class_counts() == {cat.id: 1, kitty.id: 2}


def test_duplicates_by_path_and_by_content(project, tmp_path):
    ids, dups = project.add_images([fake(tmp_path / "a.png", "same"), fake(tmp_path / "b.png", "other")])
    assert len(ids) == 2 and dups == []
    again, dups = project.add_images([fake(tmp_path / "a.png", "new-hash"),   # same path
                                      fake(tmp_path / "copy.png", "same"),   # same content
                                      fake(tmp_path / "c.png", "c"),
                                      fake(tmp_path / "c2.png", "c")])       # within the batch
    assert len(again) == 1 and [os.path.basename(d.path) for d in dups] == ["a.png", "copy.png", "c2.png"]
    assert project.image_count() == 3 and project.find_by_hash("c") == again[0]


def test_labels_create_classes_once(project, tmp_path):
    project.add_images([fake(tmp_path / "a.png", "a", "rose"), fake(tmp_path / "b.png", "b", "rose")])
    assert project.class_names() == ["rose"]
    rose = project.class_by_name("rose").id
    assert project.class_counts() == {rose: 2}


def test_splits_pinned_and_excluded(project, tmp_path):
    ids, _ = project.add_images([fake(tmp_path / f"{i}.png", f"h{i}", "cat") for i in range(3)])
    assert {r.split for r in project.images()} == {"auto"}
    previous = project.set_splits({ids[0]: "test", ids[1]: "validation"})
    assert previous == {ids[0]: "auto", ids[1]: "auto"}
    with pytest.raises(ValueError):
        project.set_splits({ids[2]: "holiday"})
    assert project.set_excluded({ids[2]: True}) == {ids[2]: False}
    usable = project.labeled_images()
    assert [(i.id, i.split) for i in usable] == [(ids[0], "test"), (ids[1], "validation")]
    project.set_splits(previous)
    assert project.image(ids[0]).split == "auto" and project.image(ids[2]).excluded


def test_status_remove_restore(project, tmp_path):
    ids, _ = project.add_images([fake(tmp_path / f"{i}.png", f"h{i}", "cat") for i in range(3)])
    project.set_status({ids[1]: ("missing", "gone")})
    assert project.status_counts() == {"ok": 2, "missing": 1}
    assert ids[1] not in [i.id for i in project.labeled_images()]
    removed = project.remove_images([ids[0], ids[2]])
    assert project.image_count() == 1
    project.restore_images(removed)
    assert project.images() == project.images(ids) and [r.id for r in project.images()] == ids
    assert project.image(ids[2]).class_id == project.class_by_name("cat").id


def test_reopen_keeps_everything_and_non_utf8_paths(tmp_path):
    project = Project.create(tmp_path / "p")
    odd = non_utf8_name(tmp_path, b"\xffoto", ".jpg")
    ids, _ = project.add_images([fake(odd, "odd", "b\u00e4r"), fake(tmp_path / "Ü图.png", "u")])
    project.set_splits({ids[1]: "train"})
    project.set_setting("seed", 7)
    project.close()
    again = Project.open(project.path)
    try:
        records = again.images()
        assert records[0].path == odd and os.fsencode(records[0].path).endswith(b"\xffoto.jpg")
        assert records[1].path.endswith("Ü图.png") and records[1].split == "train"
        assert again.class_names() == ["b\u00e4r"] and again.setting("seed") == 7
        assert again.setting("missing", "default") == "default"
    finally:
        again.close()


def test_newer_schema_is_refused(tmp_path):
    project = Project.create(tmp_path / "p")
    project._db.execute("UPDATE meta SET value='999' WHERE key='schema_version'")
    project.close()
    with pytest.raises(UserError, match="newer version"):
        Project.open(project.path)


def test_suggestions_table_reaches_older_projects_at_open(tmp_path):
    """A project made before the suggestions table existed opens, and gets the table."""
    import sqlite3

    project = Project.create(tmp_path / "old")
    ids, _ = project.add_images([fake(tmp_path / "a.jpg", "aa")])
    project.close()
    raw = sqlite3.connect(project.path)
    raw.execute("DROP TABLE predictions")
    raw.commit()
    raw.close()
    again = Project.open(project.path)
    try:
        assert again.suggestions() == {} and again.suggestions_run_id() is None
        again.store_suggestions("r1", {ids[0]: ("cat", 0.9, "aa")})
        assert again.suggestions() == {ids[0]: ("cat", 0.9)}
        assert again.suggestions_run_id() == "r1"
    finally:
        again.close()


def test_runs_are_recorded(project, tmp_path):
    assert project.runs() == []
    project.record_run("r1", tmp_path / "r1", {"alpha": 0.35}, {"accuracy": 0.9})
    project.record_run("r2", tmp_path / "r2", {"alpha": 1.0}, {})
    runs = project.runs()
    assert [r.id for r in runs] == ["r1", "r2"]
    assert runs[0].config == {"alpha": 0.35} and runs[0].metrics == {"accuracy": 0.9}
    project.delete_run("r1")
    assert [r.id for r in project.runs()] == ["r2"]


def test_relink_and_file_stats(project, tmp_path):
    ids, _ = project.add_images([fake(tmp_path / "old" / "a" / "x.png", "x"),
                                 fake(tmp_path / "older" / "y.png", "y")])
    assert project.relink(str(tmp_path / "old"), str(tmp_path / "new")) == 1
    assert project.image(ids[0]).path == str(tmp_path / "new" / "a" / "x.png")
    assert project.image(ids[1]).path == str(tmp_path / "older" / "y.png")  # not a prefix match
    project.set_file_stats({ids[0]: (99, 2.5)})
    assert (project.image(ids[0]).size, project.image(ids[0]).mtime) == (99, 2.5)


def test_second_connection_sees_commits(project, tmp_path):
    other = Project.open(project.path)  # the importer's worker thread does exactly this
    try:
        ids, _ = other.add_images([fake(tmp_path / "a.png", "a", "cat")])
        assert project.image(ids[0]).class_id == project.class_by_name("cat").id
    finally:
        other.close()


def _record_a_run(path: str) -> None:
    from mbv2gui.core.store.project import Project as ProjectInChild

    ProjectInChild.open(path).close()  # as a job does: reads with one connection...
    child = ProjectInChild.open(path)  # ...and records its run with another
    child.record_run("from-child", Path(path).parent / "run", {}, {})
    child.close()


def test_writes_of_another_process_are_seen_by_an_open_project(tmp_path):
    """The window keeps its project open while its jobs open their own connections and the
    engine process writes runs: those writes must reach the window's connection. (A raw read
    of the file by a second open dropped the first connection's SQLite locks, and the window
    never saw a finished training's run.)"""
    import multiprocessing

    project = Project.create(tmp_path / "p.mbv2")
    Project.open(project.path).close()  # a job's own connection, in the window's process
    assert project.runs() == []
    child = multiprocessing.get_context("spawn").Process(target=_record_a_run,
                                                         args=(str(project.path),))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    assert [run.id for run in project.runs()] == ["from-child"]
