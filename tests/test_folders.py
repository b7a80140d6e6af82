"""The one folder walker (core/files/folders.py) and per-file isolation: every entry point (import,
`train FOLDER`, `evaluate FOLDER`, `predict FOLDER`) sees the same images of a tricky folder,
pipes and device links are refused without being opened, and one bad file in the decode
pipeline is one error with a reason while the others are decoded.

Reading a pipe blocks forever and reading /dev/zero never ends, so everything that meets such
files runs under `finishes`: a regression fails the test instead of hanging the suite."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest

from imagefiles import write_image
from mbv2gui.core.files import folders
from mbv2gui.core.training import pipeline
from mbv2gui.core.training.dataset import TrainData
from mbv2gui.core.errors import UserError
from mbv2gui.core.inference.evaluation import folder_items
from mbv2gui.core.files.folders import NOT_REGULAR, class_folder, file_problem, image_files, walk_dropped
from mbv2gui.core.files.images import ImageError
from mbv2gui.core.files.importer import import_paths
from mbv2gui.core.inference.predict import expand_paths
from mbv2gui.core.store.project import Project

LIMIT_SECONDS = 60


def finishes(function, *fifos, seconds: float = LIMIT_SECONDS):
    """function()'s result, or a failure if it takes longer than `seconds` (then any reader
    blocked on one of the `fifos` is released, so the stuck thread can end)."""
    result: dict = {}

    def target():
        try:
            result["value"] = function()
        except BaseException as exc:  # handed to the test below
            result["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        for fifo in fifos:
            try:  # a writer opening and closing gives the blocked reader its end of file
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
        pytest.fail(f"still running after {seconds} s: a pipe or a device was read")
    if "error" in result:
        raise result["error"]
    return result["value"]


def make_tricky_folder(root: Path) -> dict:
    """A dataset folder with every kind of entry the walker has a rule for; returns what each
    entry point should make of it (paths relative to the folder)."""
    root.mkdir(parents=True)
    colors = iter((10 * i, 255 - 10 * i, 40) for i in range(1, 20))  # distinct content each
    write_image(root / "loose.png", next(colors))                 # no class: lies at the top
    (root / "notes.txt").write_text("not an image")
    write_image(root / ".hidden.png", next(colors))               # hidden file
    write_image(root / ".cache" / "h.png", next(colors))          # hidden folder
    write_image(root / "old.mbv2-data" / "thumbs" / "t.jpg", next(colors))  # a project's sidecar
    cat = root / "cat"
    write_image(cat / "a.png", next(colors))
    write_image(cat / "B.JPG", next(colors), fmt="JPEG")          # an uppercase extension
    write_image(cat / "._a.jpg", next(colors), fmt="JPEG")        # macOS AppleDouble: hidden,
    #                                                               even though it decodes
    write_image(cat / "deep" / "c.png", next(colors))             # nested: still class "cat"
    (cat / "readme.md").write_text("not an image")
    os.mkfifo(cat / "x.jpg")                                      # reading blocks forever
    os.symlink("/dev/zero", cat / "y.jpg")                        # reading never ends
    os.symlink(root, cat / "loop")                                # a symlink loop
    write_image(root / "dog" / "d.png", next(colors))
    write_image(root / "dog" / "e.jpeg", next(colors))
    labeled = {("cat/B.JPG", "cat"), ("cat/a.png", "cat"), ("cat/deep/c.png", "cat"),
               ("dog/d.png", "dog"), ("dog/e.jpeg", "dog")}
    return {"labeled": labeled, "loose": {"loose.png"}, "refused": {"cat/x.jpg", "cat/y.jpg"},
            "fifos": [cat / "x.jpg"], "non_images": 2}


def relative(root: Path, paths) -> set[str]:
    return {os.path.relpath(p, root) for p in paths}


def test_walker_rules_on_a_tricky_folder(tmp_path):
    root = tmp_path / "data"
    want = make_tricky_folder(root)
    ticks = []
    listing = finishes(lambda: walk_dropped([root], tick=lambda: ticks.append(1)), *want["fifos"])
    found = [(os.path.relpath(f.path, root), f.label, f.problem) for f in listing.found]
    assert found == [("cat/B.JPG", "cat", None), ("cat/a.png", "cat", None),
                     ("cat/deep/c.png", "cat", None), ("cat/x.jpg", "cat", NOT_REGULAR),
                     ("cat/y.jpg", "cat", NOT_REGULAR), ("dog/d.png", "dog", None),
                     ("dog/e.jpeg", "dog", None), ("loose.png", None, None)]  # sorted, once each
    assert listing.classes == ["cat", "dog"]
    assert listing.non_images == want["non_images"] and len(ticks) == len(found)
    assert listing.skipped_folders == [] and not listing.cancelled
    assert relative(root, (f.path for f in listing.refused)) == want["refused"]


def test_file_problem_follows_links(tmp_path):
    image = write_image(tmp_path / "a.png")
    os.symlink(image, tmp_path / "link.png")
    os.mkfifo(tmp_path / "pipe.png")
    os.symlink(tmp_path / "pipe.png", tmp_path / "to_pipe.png")
    os.symlink(tmp_path / "gone.png", tmp_path / "dangling.png")
    assert file_problem(image) is None and file_problem(tmp_path / "link.png") is None
    assert file_problem(tmp_path / "pipe.png") == NOT_REGULAR
    assert file_problem(tmp_path / "to_pipe.png") == NOT_REGULAR
    assert file_problem("/dev/null") == NOT_REGULAR
    assert "missing" in file_problem(tmp_path / "dangling.png")


def test_unreadable_folder_is_skipped_with_a_reason(tmp_path, monkeypatch):
    write_image(tmp_path / "data" / "a" / "one.png")
    write_image(tmp_path / "data" / "b" / "two.png")
    real_scandir = os.scandir
    locked = str(tmp_path / "data" / "b")

    def scandir(path):  # permissions do not stop root, so the refusal is simulated
        if os.fspath(path) == locked:
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(folders.os, "scandir", scandir)
    listing = walk_dropped([tmp_path / "data"])
    assert [Path(f.path).name for f in listing.found] == ["one.png"]
    assert listing.skipped_folders == [(locked, listing.skipped_folders[0][1])]
    assert "permission denied" in listing.skipped_folders[0][1]
    locked = str(tmp_path / "data")
    with pytest.raises(UserError, match="cannot be read: permission denied"):
        class_folder(tmp_path / "data")


def test_stop_is_polled(tmp_path):
    for i in range(5):
        write_image(tmp_path / "data" / "c" / f"{i}.png", (i, 0, 0))
    calls = []
    listing = walk_dropped([tmp_path / "data"], should_stop=lambda: calls.append(1) or len(calls) > 3)
    assert listing.cancelled and len(listing.found) < 5


def test_class_folder_and_prediction_lists(tmp_path):
    root = tmp_path / "data"
    want = make_tricky_folder(root)
    (root / "empty").mkdir()
    listing = finishes(lambda: class_folder(root), *want["fifos"])
    assert listing.classes == ["cat", "dog", "empty"]  # an empty class is still a class
    assert {(os.path.relpath(f.path, root), f.label) for f in listing.usable} == want["labeled"]
    with pytest.raises(UserError, match="is not a folder"):
        class_folder(root / "loose.png")
    # Prediction: a named file gets its own row even when it is no image; a folder is walked.
    paths = finishes(lambda: image_files([root / "notes.txt", root]), *want["fifos"])
    assert paths[0] == str(root / "notes.txt")
    assert relative(root, paths[1:]) == ({p for p, _ in want["labeled"]} | want["loose"]
                                         | want["refused"])
    with pytest.raises(UserError, match="does not exist"):
        image_files([root / "nowhere"])


def test_every_entry_point_sees_the_same_images(tmp_path):
    root = tmp_path / "data"
    want = make_tricky_folder(root)
    labeled_names = {p for p, _ in want["labeled"]}

    project = Project.create(tmp_path / "proj")
    project.close()
    summary = finishes(lambda: import_paths(project.path, [root], lambda e: None, lambda: False),
                       *want["fifos"])
    project = Project.open(project.path)
    try:
        names = {c.id: c.name for c in project.classes()}
        records = [(os.path.relpath(r.path, root), names.get(r.class_id), r.status, r.reason)
                   for r in project.images()]
    finally:
        project.close()
    assert {(p, label) for p, label, status, _ in records if status == "ok" and label} == want["labeled"]
    assert {p for p, label, status, _ in records if status == "ok" and not label} == want["loose"]
    assert {(p, reason) for p, _, status, reason in records if status != "ok"} == \
        {(p, NOT_REGULAR) for p in want["refused"]}
    assert summary.non_images == want["non_images"]

    data = finishes(lambda: TrainData.from_folder(root, val_split=0), *want["fifos"])  # train FOLDER
    assert {(os.path.relpath(s.path, root), s.label) for s in data.samples} == want["labeled"]
    assert {(os.path.relpath(p, root), r) for p, r in data.unreadable} == \
        {(p, NOT_REGULAR) for p in want["refused"]}
    assert data.class_names == ["cat", "dog"]

    items = finishes(lambda: folder_items(root), *want["fifos"])  # evaluate FOLDER
    assert relative(root, (p for p, _ in items)) == labeled_names | want["refused"]

    paths = finishes(lambda: expand_paths([str(root)]), *want["fifos"])  # predict FOLDER
    assert relative(root, paths) == labeled_names | want["loose"] | want["refused"]


def test_train_folder_refuses_a_pipe_before_hashing(tmp_path):
    for name, color in (("a", (200, 0, 0)), ("b", (0, 0, 200))):
        for i in range(3):
            write_image(tmp_path / "data" / name / f"{i}.png", (color[0] + i, 0, color[2]))
    os.mkfifo(tmp_path / "data" / "a" / "x.jpg")
    os.symlink("/dev/zero", tmp_path / "data" / "b" / "y.jpg")
    data = finishes(lambda: TrainData.from_folder(tmp_path / "data"), tmp_path / "data" / "a" / "x.jpg")
    assert len(data.samples) == 6 and sorted(Path(p).name for p, _ in data.unreadable) == ["x.jpg", "y.jpg"]


def test_decode_pipeline_isolates_each_file(tmp_path, monkeypatch):
    good = [write_image(tmp_path / f"good{i}.png", (40 * i, 90, 10)) for i in range(3)]
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    device = tmp_path / "zero.jpg"
    os.symlink("/dev/zero", device)
    odd = write_image(tmp_path / "odd.tif", (1, 2, 3))
    real_load = pipeline.load_pil

    def load_pil(path, max_side=None):  # a decoder exception the loader did not translate
        if Path(path) == odd:
            raise TypeError("Missing dimensions")
        return real_load(path, max_side)

    monkeypatch.setattr(pipeline, "load_pil", load_pil)
    paths = [str(p) for p in (good[0], corrupt, fifo, good[1], device, odd, good[2])]
    bad = {1: "damaged", 2: NOT_REGULAR, 4: NOT_REGULAR, 5: "damaged"}

    batches = finishes(lambda: list(pipeline.iter_batches(paths, 16, batch_size=3)), fifo)
    decoded = [i for indices, _, _ in batches for i in indices]
    failures = {i: error for _, _, fails in batches for i, error in fails}
    assert decoded == [0, 3, 6] and sorted(failures) == sorted(bad)
    for index, words in bad.items():
        assert isinstance(failures[index], ImageError) and words in failures[index].reason
        assert Path(paths[index]).name in failures[index].message  # named, with its reason
    assert all(batch.shape[1:] == (16, 16, 3) for _, batch, _ in batches)

    # Training's decode (once, into the pixel store) leaves the same files out.
    store = finishes(lambda: pipeline.PixelStore.build(paths, 16, tmp_path / "pixels.npy"), fifo)
    try:
        assert np.flatnonzero(store.ok).tolist() == [0, 3, 6] and sorted(store.errors) == sorted(bad)
    finally:
        store.close()
