"""The thumbnail cache: sharded by content hash, fits the size, atomic, thread-safe."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

from imagefiles import noisy_jpeg, write_image
from mbv2gui.core.files.images import ImageError, content_hash
from mbv2gui.core.files.thumbnails import ThumbnailCache


def test_path_is_sharded_by_hash(tmp_path):
    cache = ThumbnailCache(tmp_path / "thumbs")
    assert cache.path_for("abcdef0123") == tmp_path / "thumbs" / "ab" / "abcdef0123.jpg"
    for bad in ("../etc/passwd", "", "a/", None):  # None: an image that could not be hashed
        with pytest.raises(ValueError):
            cache.path_for(bad)


def test_make_fits_the_size_and_is_found_again(tmp_path):
    source = noisy_jpeg(tmp_path / "wide.jpg", size=(800, 400))
    digest = content_hash(source)
    cache = ThumbnailCache(tmp_path / "thumbs", size=160)
    assert cache.cached(digest) is None
    made = cache.make(source, digest)
    assert made == cache.path_for(digest) == cache.cached(digest)
    with Image.open(made) as thumb:
        assert thumb.format == "JPEG" and thumb.size == (160, 80)
    # Keyed by content: the same file somewhere else needs no new thumbnail.
    moved = tmp_path / "moved.jpg"
    source.rename(moved)
    assert cache.get(moved, content_hash(moved)) == made
    assert [p.name for p in (tmp_path / "thumbs").rglob("*")] == [digest[:2], made.name]


@pytest.mark.parametrize("mode,color,suffix", [("P", 2, ".png"), ("RGBA", (0, 0, 0, 0), ".png"),
                                                ("I;16", 30000, ".png"), ("CMYK", (0, 0, 0, 0), ".jpg")])
def test_odd_modes_make_rgb_thumbnails(tmp_path, mode, color, suffix):
    source = write_image(tmp_path / f"odd{suffix}", color, mode=mode, size=(700, 500))
    made = ThumbnailCache(tmp_path / "t", size=64).make(source, content_hash(source))
    with Image.open(made) as thumb:
        assert thumb.mode == "RGB" and thumb.size == (64, 46)


def test_bad_file_raises_image_error_and_leaves_nothing(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_text("nope")
    cache = ThumbnailCache(tmp_path / "thumbs")
    with pytest.raises(ImageError, match="not an image"):
        cache.make(bad, content_hash(bad))
    assert cache.cached(content_hash(bad)) is None
    assert not any(p.is_file() for p in (tmp_path / "thumbs").rglob("*"))


def test_many_threads_at_once(tmp_path):
    sources = [write_image(tmp_path / f"s{i}.png", (i * 20, 0, 0), size=(300, 200)) for i in range(8)]
    digests = [content_hash(s) for s in sources]
    cache = ThumbnailCache(tmp_path / "thumbs", size=48)
    jobs = [(s, d) for s, d in zip(sources, digests)] * 6  # every thumbnail made 6 times at once
    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(lambda job: cache.make(*job), jobs))
    assert set(made) == {cache.path_for(d) for d in digests}
    for path, digest in zip(made, digests):
        with Image.open(path) as thumb:
            thumb.load()
            assert thumb.size == (48, 32)
    leftovers = [p for p in (tmp_path / "thumbs").rglob("*") if p.is_file() and p.name.startswith(".tmp")]
    assert leftovers == []


# ---------------------------------------------------------------- found broken at thumbnail time
from imagefiles import truncate
from mbv2gui.core.files.images import TRUNCATED
from mbv2gui.core.files.importer import import_paths
from mbv2gui.core.store.project import Project
from mbv2gui.core.files.thumbnails import mark_unreadable


@pytest.fixture
def imported_truncated_jpeg(tmp_path):
    """A project holding a good image and a truncated JPEG, both labeled "cat", as import
    leaves them: both "ok" (import reads only headers, and the cut one's header is whole)."""
    (tmp_path / "data" / "cat").mkdir(parents=True)
    truncate(noisy_jpeg(tmp_path / "data" / "cat" / "cut.jpg", size=(200, 150)), 0.4)
    write_image(tmp_path / "data" / "cat" / "fine.png", (0, 90, 0))
    project = Project.create(tmp_path / "proj")
    project.close()
    import_paths(project.path, [tmp_path / "data"], lambda _event: None, lambda: False)
    project = Project.open(project.path)
    by_name = {Path(r.path).name: r for r in project.images()}
    project.close()
    assert {name: r.status for name, r in by_name.items()} == {"cut.jpg": "ok", "fine.png": "ok"}
    return project.path, by_name["cut.jpg"], by_name["fine.png"]


def test_truncated_jpeg_is_marked_unreadable_when_its_thumbnail_fails(tmp_path, imported_truncated_jpeg):
    project_path, cut, fine = imported_truncated_jpeg
    cache = ThumbnailCache(tmp_path / "thumbs", size=48)
    cache.make(fine.path, fine.content_hash)
    with pytest.raises(ImageError) as caught:
        cache.make(cut.path, cut.content_hash)
    assert mark_unreadable(project_path, cut.content_hash, caught.value) == [cut.id]
    assert mark_unreadable(project_path, cut.content_hash, caught.value) == []  # already marked
    project = Project.open(project_path)
    try:
        record = project.image(cut.id)
        assert (record.status, record.reason) == ("unreadable", TRUNCATED)
        assert project.status_counts() == {"ok": 1, "unreadable": 1}
        # What training takes (labeled, readable) no longer counts it.
        assert [image.id for image in project.labeled_images()] == [fine.id]
    finally:
        project.close()


def test_a_file_that_vanished_is_not_marked_unreadable(tmp_path, imported_truncated_jpeg):
    # Missing is the check on open's finding (status "missing"), not a fact about the content.
    project_path, cut, _fine = imported_truncated_jpeg
    os.unlink(cut.path)
    with pytest.raises(ImageError) as caught:
        ThumbnailCache(tmp_path / "thumbs").make(cut.path, cut.content_hash)
    assert caught.value.is_access_problem
    assert mark_unreadable(project_path, cut.content_hash, caught.value) == []
    project = Project.open(project_path)
    assert project.image(cut.id).status == "ok"
    project.close()


def test_gallery_loader_marks_it_and_tells_the_window(qtbot, imported_truncated_jpeg):
    from mbv2gui.gui.common.thumbnail_loader import ThumbnailLoader, Unreadable

    project_path, cut, fine = imported_truncated_jpeg
    project = Project.open(project_path)
    loader = ThumbnailLoader(threads=1)
    try:
        loader.set_project(project)
        with qtbot.waitSignal(loader.imagesMarked, timeout=10000) as marked:
            assert loader.pixmap(cut.content_hash, cut.path) is None  # queued
        assert marked.args == [[cut.id]]
        assert isinstance(loader.pixmap(cut.content_hash, cut.path), Unreadable)
        # The window's own connection sees it at once (status bar, preflight).
        assert project.image(cut.id).status == "unreadable"
        assert project.status_counts() == {"ok": 1, "unreadable": 1}
    finally:
        loader.shutdown()
        project.close()
