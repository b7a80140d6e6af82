"""A damaged, read-only or full project file is named in a sentence, never a raw SQLite or JSON
error; a recovered copy gets back what can be read; two windows adding one class agree."""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

from mbv2gui.core.store import recovery
from mbv2gui.core.errors import UserError
from mbv2gui.core.store.project import NewImage, Project
from mbv2gui.core.store.recovery import recover_project
from mbv2gui.core.store.errors import ProjectDamaged

IMAGES = 300
PAGE = 4096


def labeled_project(folder: Path, count: int = IMAGES) -> Path:
    """A closed project of `count` images (3 of every 4 labeled), a setting and a run; long
    paths spread the images table over many pages."""
    project = Project.create(folder / "plants")
    project.add_images([
        NewImage(f"/data/field trial 2024/plot {i % 17}/image_{i:05d}.jpg", 1000 + i, 1.0,
                 f"{i:040x}", 8, 8, label=f"class {i % 3}" if i % 4 else None)
        for i in range(count)])
    project.set_setting("seed", 7)
    project.record_run("r1", folder / "r1", {"alpha": 0.35}, {"accuracy": 0.9})
    project.close()  # the last connection folds the WAL into the file
    return project.path


def labels_in(path: Path) -> tuple[int, int]:
    project = Project.open(path)
    try:
        images = project.images()
        return len(images), sum(r.class_id is not None for r in images)
    finally:
        project.close()


def sql(path: Path, statement: str) -> None:
    db = sqlite3.connect(path)
    db.execute(statement)
    db.commit()
    db.close()


def image_pages(path: Path) -> list[int]:
    """The (0-based) pages that hold rows of the images table: b-tree table leaves (type 13)
    with image paths in them."""
    data = path.read_bytes()
    return [page for page in range(1, len(data) // PAGE)
            if data[page * PAGE] == 13 and b"/image_" in data[page * PAGE:(page + 1) * PAGE]]


def middle_image_page(path: Path, shift: int = 0) -> int:
    pages = image_pages(path)
    assert len(pages) > 4  # else the test would not test a middle page
    return pages[len(pages) // 2 + shift]


def flip_page(path: Path, page: int, count: int = 200) -> None:
    data = bytearray(path.read_bytes())
    for i in range(page * PAGE, page * PAGE + count):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def expect_damaged(path: Path, *words: str) -> ProjectDamaged:
    with pytest.raises(ProjectDamaged) as caught:
        Project.open(path)
    message = caught.value.message
    assert message.startswith(f"The project file {path.name} ")
    for word in words:
        assert word in message
    assert "Error" not in message and caught.value.detail  # the detail goes under it
    return caught.value


# ----------------------------------------------------------------- every damage is a sentence
def rows_by_id(path: Path) -> dict:
    project = Project.open(path)
    try:
        names = {c.id: c.name for c in project.classes()}
        return {r.id: (r.path, r.content_hash, names.get(r.class_id)) for r in project.images()}
    finally:
        project.close()


def test_flipped_bytes_in_the_middle_are_found_at_open_and_recovered(tmp_path):
    path = labeled_project(tmp_path)
    healthy = rows_by_id(path)
    flip_page(path, middle_image_page(path))
    original = path.read_bytes()
    error = expect_damaged(path, "is damaged", "recovered copy")
    assert error.recoverable

    result = recover_project(path)
    assert path.read_bytes() == original  # never touched
    assert Path(result.path) == tmp_path / "plants (recovered).mbv2"
    assert 0 < result.images < IMAGES and 0 < result.labels <= result.images
    assert (result.images, result.labels) == labels_in(Path(result.path))
    recovered = rows_by_id(Path(result.path))
    assert all(row == healthy[image_id] for image_id, row in recovered.items())  # no garbage
    assert result.summary().startswith(f"Recovered {result.images:,} images and "
                                       f"{result.labels:,} labels from the damaged project")
    assert "the original was left as it was" in result.summary()


def test_recovery_without_the_sqlite3_shell(tmp_path, monkeypatch):
    """The packaged app cannot count on the `sqlite3` program: the Python copy alone works."""
    monkeypatch.setattr(recovery.shutil, "which", lambda name: None)
    path = labeled_project(tmp_path)
    flip_page(path, middle_image_page(path, shift=1))
    expect_damaged(path, "is damaged")
    result = recover_project(path)
    assert result.method.startswith("row by row") and 0 < result.images < IMAGES
    assert 0 < result.labels and result.classes == 3 and result.runs == 1


def root_page(path: Path, table: str) -> int:
    """The 0-based index of `table`'s root page (SQLite numbers pages from 1)."""
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT rootpage FROM sqlite_master WHERE name=?", (table,)).fetchone()[0] - 1
    finally:
        db.close()


def test_a_broken_root_page_hides_no_image(tmp_path, monkeypatch):
    """No query reaches a row beneath a broken root page; the page scan still finds them all."""
    monkeypatch.setattr(recovery.shutil, "which", lambda name: None)
    path = labeled_project(tmp_path)
    before = labels_in(path)
    flip_page(path, root_page(path, "images"))
    expect_damaged(path, "is damaged")
    assert recovery.readable_rows(path)["images"][1] == []  # what SQL alone gets
    result = recover_project(path)
    assert (result.images, result.labels) == before and result.method.endswith("page scan")


def test_lost_class_names_keep_their_images_together(tmp_path):
    path = labeled_project(tmp_path)
    before = labels_in(path)
    flip_page(path, root_page(path, "classes"))
    result = recover_project(path)
    assert (result.images, result.labels) == before and result.unnamed_classes == 3
    assert "The names of 3 classes were lost" in result.summary()
    copy = Project.open(result.path)
    try:
        counts = copy.class_counts()
        assert sorted(copy.class_names()) == [f"Recovered class {i}" for i in (1, 2, 3)]
        assert sorted(counts[c.id] for c in copy.classes()) == sorted(
            sum(1 for i in range(IMAGES) if i % 4 and i % 3 == k) for k in range(3))
    finally:
        copy.close()


def test_truncated_file(tmp_path):
    path = labeled_project(tmp_path)
    with open(path, "r+b") as file:
        file.truncate(path.stat().st_size // 2)
    expect_damaged(path, "is damaged")
    assert 0 < recover_project(path).images < IMAGES


def test_dropped_column_recovers_everything(tmp_path):
    path = labeled_project(tmp_path)
    before = labels_in(path)
    sql(path, "ALTER TABLE images DROP COLUMN excluded")
    expect_damaged(path, "the table “images” lacks the column excluded")
    result = recover_project(path)
    assert (result.images, result.labels) == before == labels_in(Path(result.path))
    assert result.runs == 1 and result.skipped == 0
    copy = Project.open(result.path)
    try:
        assert copy.setting("seed") == 7 and copy.runs()[0].metrics == {"accuracy": 0.9}
        assert not any(r.excluded for r in copy.images())
    finally:
        copy.close()
    assert recover_project(path).path.endswith("plants (recovered 2).mbv2")  # never overwrites


@pytest.mark.parametrize("statement, words", [
    ("DROP TABLE runs", ["its table “runs” is missing"]),
    ("UPDATE runs SET metrics='{not json'", ["the results of run r1 cannot be read"]),
    ("UPDATE meta SET value='[1,' WHERE key='setting:seed'", ["the setting “seed”"]),
    ("UPDATE meta SET value='one' WHERE key='schema_version'", ["version number “one”"]),
    ("DELETE FROM meta WHERE key='schema_version'", ["which version"]),
])
def test_broken_contents_are_named(tmp_path, statement, words):
    path = labeled_project(tmp_path, count=20)
    sql(path, statement)
    expect_damaged(path, "is damaged", *words)
    assert recover_project(path).images == 20


@pytest.mark.parametrize("content, words", [
    (b"", ["is empty"]),
    (b"%PDF-1.4 " * 100, ["not an SQLite database"]),
    (None, ["database of another program"]),
])
def test_files_that_are_no_project(tmp_path, content, words):
    path = tmp_path / "broken.mbv2"
    if content is None:
        sql(path, "CREATE TABLE x (y)")
    else:
        path.write_bytes(content)
    error = expect_damaged(path, "cannot be opened", *words)
    assert not error.recoverable
    assert path.read_bytes()[:16] == (content[:16] if content is not None else b"SQLite format 3\0")


def test_damage_found_after_open_is_a_sentence(tmp_path):
    """Pages broken while the project is open (another program, a failing disk) fail the
    query in words, not with sqlite3.DatabaseError."""
    path = labeled_project(tmp_path)
    project = Project.open(path)
    try:
        flip_page(path, middle_image_page(path))
        with pytest.raises(UserError, match="is damaged") as caught:
            for _ in range(3):  # past SQLite's page cache, which may still hold the page
                project._db.execute("PRAGMA cache_size=0")
                project.images()
        assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)
    finally:
        project.close()


# ----------------------------------------------------------------- read-only and full disks
def _refuse_writes(monkeypatch, message: str) -> None:
    """As root, chmod does not stop writes: have SQLite refuse the read-write open as a
    read-only file system would, and let read-only (`mode=ro`) opens through."""
    real = sqlite3.connect

    def connect(target, *args, **kwargs):
        if str(target).endswith(".mbv2"):  # a read-write open of a project
            raise sqlite3.OperationalError(message)
        return real(target, *args, **kwargs)
    monkeypatch.setattr(sqlite3, "connect", connect)


def test_read_only_folder_opens_read_only(tmp_path, monkeypatch):
    folder = tmp_path / "shared"
    folder.mkdir()
    path = labeled_project(folder, count=12)
    before = path.read_bytes()
    path.chmod(0o444)
    folder.chmod(0o555)
    try:
        if os.access(path, os.W_OK):  # root: the permission bits alone stop nothing
            _refuse_writes(monkeypatch, "attempt to write a readonly database")
        project = Project.open(path)
        try:
            assert project.read_only and "folder" in project.read_only_reason
            assert len(project.images()) == 12 and project.setting("seed") == 7
            cat = project.class_by_name("class 1")
            with pytest.raises(UserError, match="open read-only because .*labels cannot be "
                                                "changed"):
                project.label_images([project.images()[0].id], cat.id)
            with pytest.raises(UserError, match="read-only"):
                project.add_class("new")
        finally:
            project.close()
        assert path.read_bytes() == before
    finally:
        folder.chmod(0o755)
        path.chmod(0o644)


def test_read_only_connection_refuses_real_writes_in_words(tmp_path):
    """Under the read-only flag, SQLite itself refuses: its error is a sentence too."""
    path = labeled_project(tmp_path, count=3)
    project = Project.open(path)
    project.close()
    from mbv2gui.core.store.project import _connection

    db = _connection(path, read_only=True, then="open it again")
    try:
        with pytest.raises(UserError, match="cannot be written to"):
            db.execute("DELETE FROM images")
    finally:
        db.close()


def test_full_disk_is_not_damage(tmp_path, monkeypatch):
    path = labeled_project(tmp_path, count=3)
    _refuse_writes(monkeypatch, "database or disk is full")
    with pytest.raises(UserError) as caught:
        Project.open(path)
    assert not isinstance(caught.value, ProjectDamaged)
    assert caught.value.message.startswith(f"The disk holding {path.parent} (mounted at ")
    assert "is full: " in caught.value.message and " free, so the app could not write to " \
        f"{path.name}. Free some space on it and open it again." in caught.value.message


def test_write_on_a_full_disk_mid_session_is_a_sentence(tmp_path):
    path = labeled_project(tmp_path, count=3)
    project = Project.open(path)
    try:
        project._db.execute("PRAGMA max_page_count=1")  # SQLite's own "disk is full"
        with pytest.raises(UserError, match=r"is full: .* free, so the app could not write"):
            project.add_images([NewImage(f"/x/{'y' * 3000}{i}.jpg", 1, 1.0, str(i), 1, 1)
                                for i in range(50)])
        assert len(project.images()) == 3  # rolled back, still usable
    finally:
        project.close()


# ----------------------------------------------------------------- two windows, one class
def test_two_connections_adding_the_same_classes_at_once(tmp_path):
    path = Project.create(tmp_path / "p").path
    names = [f"class {i}" for i in range(40)]
    unexpected, refused = [], []

    def add_all(existing_ok: bool) -> None:
        project = Project.open(path)
        try:
            for name in names:
                try:
                    project.add_class(name, existing_ok=existing_ok)
                except UserError as exc:
                    refused.append(exc.message)
                except Exception as exc:  # noqa: BLE001 - what the test is looking for
                    unexpected.append(exc)
        finally:
            project.close()
    threads = [threading.Thread(target=add_all, args=(ok,)) for ok in (False, False, True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert unexpected == []
    assert all("already a class" in message for message in refused)
    project = Project.open(path)
    try:
        assert sorted(project.class_names()) == sorted(names)
        again = project.add_class("class 3", existing_ok=True)  # as an import does
        assert again == project.class_by_name("class 3")
    finally:
        project.close()


def test_a_clash_in_the_database_is_a_sentence(tmp_path):
    project = Project.create(tmp_path / "p")
    try:
        cat = project.add_class("cat")
        with pytest.raises(UserError, match="clashes with what is already in the project"):
            project.add_class("dog", class_id=cat.id)  # an undo whose id was taken meanwhile
        assert project.class_names() == ["cat"]
    finally:
        project.close()
        shutil.rmtree(tmp_path / "p.mbv2-data", ignore_errors=True)


# ----------------------------------------------------------------- the window
@pytest.fixture
def window(qtbot):
    from mbv2gui.gui.shell.main_window import MainWindow

    window = MainWindow()
    window.show()
    qtbot.waitExposed(window)
    yield window
    assert window.runner.shutdown(5.0)
    window.close()
    window.deleteLater()


def test_window_offers_a_recovered_copy_and_opens_it(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    path = labeled_project(tmp_path, count=30)
    before = labels_in(path)
    sql(path, "UPDATE runs SET config='{broken'")
    shown = []

    def answer(box):  # the person reads the sentence and clicks the offered button
        shown.append(box.text())
        next(b for b in box.buttons() if b.text() == window.projects.RECOVER).click()
    monkeypatch.setattr(QMessageBox, "exec", answer)
    assert not window.projects.open_project(str(path))
    assert shown and "is damaged: the settings of run r1 cannot be read" in shown[0]
    qtbot.waitUntil(lambda: window.context.project is not None, timeout=60_000)  # (the engine)
    project = window.context.project
    assert project.path == tmp_path / "plants (recovered).mbv2"
    assert (len(project.images()), sum(r.class_id is not None for r in project.images())) == before
    assert project.runs() == []  # the run whose settings were lost is left out
    qtbot.waitUntil(lambda: f"Recovered {before[0]} images and {before[1]} labels"
                    in window.notices.text())


def test_recovering_the_open_project_lets_go_of_it_first(qtbot, window, tmp_path):
    """Damage found while the project is open: the window closes its own connection before the
    copy is read (a raw read of a file SQLite holds drops SQLite's locks in that process)."""
    path = labeled_project(tmp_path, count=12)
    assert window.projects.open_project(str(path))
    job = window.projects.recover(str(path))
    assert window.context.project is None  # let go before the copy is read
    with qtbot.waitSignal(job.finished, timeout=60_000):
        pass
    qtbot.waitUntil(lambda: window.context.project is not None, timeout=10_000)
    assert window.context.project.path == tmp_path / "plants (recovered).mbv2"
    assert labels_in(tmp_path / "plants (recovered).mbv2") == labels_in(path)


def test_window_shows_a_read_only_project(qtbot, window, tmp_path, monkeypatch):
    path = labeled_project(tmp_path, count=5)
    _refuse_writes(monkeypatch, "attempt to write a readonly database")
    assert window.projects.open_project(str(path))
    assert window.context.project.read_only
    assert window.windowTitle() == "plants — read-only — mbv2gui"
    assert "opened read-only because" in window.notices.text()
    assert window.context.project.read_only_reason == "its file or folder cannot be written to"


# ----------------------------------------------------------------- the command line
def test_cli_names_the_damage_and_recovers(tmp_path, capsys):
    from mbv2gui.cli import main

    path = labeled_project(tmp_path, count=10)
    sql(path, "ALTER TABLE images DROP COLUMN reason")
    assert main(["train", str(path), "--out", str(tmp_path / "run"), "--weights", "none",
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "is damaged: the table “images” lacks the column reason" in err
    assert f'mbv2gui recover "{path}"' in err and "Traceback" not in err
    images, labels = 10, sum(1 for i in range(10) if i % 4)  # as labeled_project labels
    assert main(["recover", str(path), "--quiet"]) == 0
    assert f"Recovered {images} images and {labels} labels" in capsys.readouterr().out
    assert labels_in(tmp_path / "plants (recovered).mbv2") == (images, labels)


def test_creating_on_a_full_disk_leaves_nothing_behind(tmp_path, monkeypatch):
    real = sqlite3.connect

    def connect(target, *args, **kwargs):  # SQLite makes the file, then finds no room
        db = real(target, *args, **kwargs)
        db.close()
        raise sqlite3.OperationalError("database or disk is full")
    monkeypatch.setattr(sqlite3, "connect", connect)
    with pytest.raises(UserError, match=r"The disk holding .* is full: .* write to new.mbv2\. .*try again"):
        Project.create(tmp_path / "new")
    monkeypatch.undo()
    assert not (tmp_path / "new.mbv2").exists()
    Project.create(tmp_path / "new").close()  # not "already exists"
