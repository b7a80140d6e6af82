"""The thumbnail cache: sharded by content hash, fits the size, atomic, thread-safe."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image

from imagefiles import noisy_jpeg, write_image
from mbv2gui.core.images import ImageError, content_hash
from mbv2gui.core.thumbnails import ThumbnailCache


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
