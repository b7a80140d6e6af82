"""The one loader: every odd file becomes RGB uint8 or an ImageError with a named reason."""

from __future__ import annotations

import builtins
import errno
import os
import struct
import threading

import numpy as np
import pytest
from PIL import EpsImagePlugin, Image, ImageFile, PngImagePlugin

from imagefiles import (eps_writing, fake_program, noisy_jpeg, non_utf8_name, png_header_only,
                        png_inflating_past, tiff_second_page_without_width, truncate, write_image,
                        write_two_color)
from mbv2gui.core.files import images
from mbv2gui.core.files.images import ImageError, content_hash, image_info, load_pil, load_rgb
from mbv2gui.core.files.thumbnails import ThumbnailCache


def assert_rgb(array, shape=None):
    assert isinstance(array, np.ndarray) and array.dtype == np.uint8
    assert array.ndim == 3 and array.shape[2] == 3
    if shape:
        assert array.shape[:2] == shape


def close(pixel, expected, tolerance=12):
    return all(abs(int(a) - int(b)) <= tolerance for a, b in zip(pixel, expected))


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".bmp", ".webp", ".tif", ".gif"])
def test_each_format_loads_as_rgb(tmp_path, suffix):
    path = write_image(tmp_path / f"red{suffix}", (220, 20, 20), size=(30, 20))
    array = load_rgb(path)
    assert_rgb(array, (20, 30))
    assert close(array[10, 15], (220, 20, 20), 20)
    assert image_info(path) == images.ImageInfo(30, 20)


def test_animated_gif_gives_first_frame(tmp_path):
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)
    assert Image.open(path).n_frames == 3
    array = load_rgb(path)
    assert close(array[8, 8], (255, 0, 0))
    assert close(load_rgb(path, max_side=8)[0, 0], (255, 0, 0))


def test_exif_orientation_6_is_applied(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    path = write_two_color(tmp_path / "turned.jpg", (255, 0, 0), (0, 0, 255), size=(40, 20),
                           exif=exif.tobytes(), quality=95)
    array = load_rgb(path)
    assert_rgb(array, (40, 20))  # now taller than wide
    assert close(array[5, 10], (255, 0, 0), 40)    # the left half is on top
    assert close(array[35, 10], (0, 0, 255), 40)
    assert image_info(path) == images.ImageInfo(20, 40)


def test_grayscale_palette_and_alpha_become_rgb(tmp_path):
    gray = load_rgb(write_image(tmp_path / "l.png", 100, mode="L"))
    assert tuple(gray[0, 0]) == (100, 100, 100)

    palette = Image.new("P", (10, 10), 1)
    palette.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    palette.save(tmp_path / "p.png")
    assert tuple(load_rgb(tmp_path / "p.png")[5, 5]) == (10, 200, 30)

    rgba = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    rgba.paste((200, 0, 0, 255), (0, 0, 5, 10))
    rgba.save(tmp_path / "a.png")
    array = load_rgb(tmp_path / "a.png")
    assert tuple(array[5, 1]) == (200, 0, 0)
    assert tuple(array[5, 8]) == (255, 255, 255)  # transparent -> white, not black


def test_16_bit_grayscale_is_scaled_not_clipped(tmp_path):
    values = np.array([[0, 32768, 65535]] * 4, dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode.startswith("I")
    array = load_rgb(tmp_path / "deep.png")
    assert_rgb(array, (4, 3))
    assert [int(v) for v in array[0, :, 0]] == [0, 127, 255]


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    path = write_image(tmp_path / "cmyk.jpg", (0, 255, 255, 0), mode="CMYK", size=(32, 32))
    assert Image.open(path).mode == "CMYK"
    assert close(load_rgb(path)[16, 16], (255, 0, 0), 20)


@pytest.mark.parametrize("mode,color", [("P", 3), ("1", 1), ("I;16", 40000), ("RGB", (9, 9, 9))])
def test_downscaled_decode_works_for_every_mode(tmp_path, mode, color):
    # Pillow's reduce() refuses P, 1 and I;16: found by this test, fixed in images.load_pil.
    path = write_image(tmp_path / f"big.{'jpg' if mode == 'RGB' else 'png'}", color, mode=mode,
                       size=(900, 600))
    array = load_rgb(path, max_side=100)
    assert_rgb(array)
    assert 100 <= max(array.shape[:2]) < 900


def test_jpeg_draft_decodes_smaller(tmp_path):
    path = noisy_jpeg(tmp_path / "big.jpg", size=(1600, 1200))
    image = load_pil(path, max_side=160)
    assert image.mode == "RGB" and 160 <= max(image.size) <= 400


def expect_reason(path, words, *, info=True):
    """Every entry point fails with an ImageError naming the file and the reason."""
    calls = [load_rgb, lambda p: load_rgb(p, max_side=32)] + ([image_info] if info else [])
    for call in calls:
        with pytest.raises(ImageError) as caught:
            call(path)
        assert words in caught.value.reason, caught.value.reason
        assert images.display_path(os.path.basename(path)) in caught.value.message
        assert caught.value.path == str(path)


def test_decompression_bomb_header_is_refused(tmp_path):
    path = png_header_only(tmp_path / "bomb.png", 40000, 40000)  # 1.6 gigapixels, 57 bytes
    assert path.stat().st_size < 100
    expect_reason(path, "too large")


def test_bomb_limit_is_the_modules_setting(tmp_path, monkeypatch):
    path = write_image(tmp_path / "normal.png", size=(100, 100))
    assert load_rgb(path).shape == (100, 100, 3)
    monkeypatch.setattr(images, "MAX_IMAGE_PIXELS", 50 * 50)
    expect_reason(path, "too large")


def test_truncated_jpeg(tmp_path):
    path = truncate(noisy_jpeg(tmp_path / "cut.jpg", size=(200, 150)), 0.4)
    assert image_info(path).width == 200  # the header survived; the pixels did not
    expect_reason(path, "truncated", info=False)


def test_zero_byte_file(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    expect_reason(tmp_path / "empty.jpg", "empty")


def test_text_file_named_jpg(tmp_path):
    (tmp_path / "notes.jpg").write_text("these are my notes, not a photo\n")
    expect_reason(tmp_path / "notes.jpg", "not an image file")


def test_folder_named_like_an_image(tmp_path):
    (tmp_path / "album.jpg").mkdir()
    expect_reason(tmp_path / "album.jpg", "folder")


def test_missing_file(tmp_path):
    expect_reason(tmp_path / "gone.png", "missing")


def test_unreadable_permissions(tmp_path, monkeypatch):
    path = write_image(tmp_path / "secret.png")
    os.chmod(path, 0)
    try:
        if os.geteuid() == 0:
            # root reads a mode-000 file anyway: make opening it fail the way it does for users.
            real_open = builtins.open

            def denying_open(file, *args, **kwargs):
                if os.fspath(file) == str(path):
                    raise PermissionError(errno.EACCES, "Permission denied", str(path))
                return real_open(file, *args, **kwargs)
            monkeypatch.setattr(builtins, "open", denying_open)
        expect_reason(path, "permission denied")
        with pytest.raises(ImageError, match="permission denied"):
            content_hash(path)
    finally:
        os.chmod(path, 0o644)


def test_non_utf8_path(tmp_path):
    name = non_utf8_name(tmp_path, b"caf\xe9\xff", ".png")
    write_image(name, (0, 128, 0))
    assert os.path.exists(name)
    assert close(load_rgb(name)[0, 0], (0, 128, 0))
    assert len(content_hash(name)) == 40
    broken = non_utf8_name(tmp_path, b"bad\xff", ".jpg")
    with open(broken, "wb") as handle:
        handle.write(b"not an image")
    expect_reason(broken, "not an image file")
    with pytest.raises(ImageError) as caught:
        load_rgb(broken)
    caught.value.message.encode("utf-8")  # printable: the bad bytes are replaced, not raised


def test_non_ascii_path(tmp_path):
    path = write_image(tmp_path / "Ü图" / "Ü图.jpg", (0, 0, 200))
    assert close(load_rgb(path)[3, 3], (0, 0, 200), 20)
    (tmp_path / "Ü图" / "ß.png").write_bytes(b"\x89PNG broken")
    expect_reason(tmp_path / "Ü图" / "ß.png", "image")


def test_content_hash_follows_content_not_name(tmp_path):
    a = write_image(tmp_path / "a.png", (1, 2, 3))
    b = tmp_path / "b.png"
    b.write_bytes(a.read_bytes())
    c = write_image(tmp_path / "c.png", (3, 2, 1))
    assert content_hash(a) == content_hash(b) != content_hash(c)


def test_is_image_name():
    assert images.is_image_name("x/Y.JPEG") and images.is_image_name(b"a.tiff")
    assert not images.is_image_name("notes.txt") and not images.is_image_name("jpg")


# ---------------------------------------------------------------- issue 13: hostile and odd files
@pytest.fixture
def ghostscript_trap(tmp_path, monkeypatch):
    """A fake `gs` first on PATH that leaves a marker when started, Pillow made to look for
    Ghostscript afresh, and an EPS named like a photo that leaves a second marker if run."""
    started, ran = tmp_path / "gs-started", tmp_path / "postscript-ran"
    fake_program(tmp_path / "bin", "gs", started)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setattr(EpsImagePlugin, "gs_binary", None)
    photo = eps_writing(tmp_path / "photos" / "holiday.jpg", ran)
    return photo, started, ran


def test_the_ghostscript_trap_works_when_pillow_is_not_restricted(ghostscript_trap):
    # The hazard the loader guards against: plain Pillow identifies the .jpg as EPS and starts
    # Ghostscript to draw it. If this stops holding, the test below proves nothing.
    photo, started, _ran = ghostscript_trap
    with Image.open(photo) as image:
        assert image.format == "EPS"
        with pytest.raises(Exception):
            image.load()
    assert started.exists()


def test_postscript_named_jpg_never_starts_ghostscript(ghostscript_trap, tmp_path, monkeypatch):
    from mbv2gui.core.files.importer import import_paths
    from mbv2gui.core.store.project import Project

    photo, started, ran = ghostscript_trap
    used = []
    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", lambda self: used.append(self))
    expect_reason(photo, "not an image file")
    with pytest.raises(ImageError, match="not an image file"):
        load_pil(photo, max_side=16)
    with pytest.raises(ImageError, match="not an image file"):
        ThumbnailCache(tmp_path / "thumbs", 32).make(photo, content_hash(photo))
    write_image(photo.parent / "fine.png", (1, 2, 3))
    project = Project.create(tmp_path / "proj")
    project.close()
    summary = import_paths(project.path, [photo.parent], lambda _event: None, lambda: False)
    assert len(summary.added_ids) == 2
    assert [(os.path.basename(p), r) for p, r in summary.unreadable] == \
        [("holiday.jpg", images.NOT_AN_IMAGE)]
    assert used == [] and not started.exists() and not ran.exists()


@pytest.mark.parametrize("kind,before_pixels", [(b"zTXt", True), (b"iCCP", True), (b"zTXt", False)])
def test_png_chunk_inflating_past_pillows_limit(tmp_path, kind, before_pixels):
    path = png_inflating_past(tmp_path / "small.png", PngImagePlugin.MAX_TEXT_CHUNK, kind,
                              before_pixels)
    assert path.stat().st_size < 4096
    with pytest.raises(ValueError):  # what Pillow alone does with it
        with Image.open(path) as image:
            image.load()
    # A chunk after the pixel data is only read when the pixels are: the header is fine.
    expect_reason(path, "damaged", info=before_pixels)


def test_tiff_with_a_broken_second_page_gives_its_first(tmp_path):
    path = tiff_second_page_without_width(tmp_path / "pages.tif")
    with Image.open(path) as image, pytest.raises(TypeError, match="Missing dimensions"):
        image.seek(1)  # what counting the pages did before issue 13
    assert image_info(path) == images.ImageInfo(6, 4)
    assert_rgb(load_rgb(path), (4, 6))


@pytest.mark.parametrize("raised", [ValueError("bad"), TypeError("Missing dimensions"),
                                    OSError("broken data stream"), SyntaxError("not a PNG"),
                                    EOFError(), struct.error("unpack"), MemoryError(),
                                    IndexError("list index"), KeyError(7), ZeroDivisionError(),
                                    OverflowError("too big"), RuntimeError("odd"),
                                    Image.DecompressionBombError("bomb"),
                                    Image.DecompressionBombWarning("bomb"),
                                    Image.UnidentifiedImageError("what")])
def test_every_decoder_exception_becomes_a_reason(tmp_path, monkeypatch, raised):
    path = write_image(tmp_path / "x.png")

    def fail(*_args, **_kwargs):
        raise raised
    with monkeypatch.context() as patch:
        patch.setattr(ImageFile.ImageFile, "load", fail)  # while decoding
        for call in (load_rgb, lambda p: load_pil(p, max_side=8)):
            with pytest.raises(ImageError) as caught:
                call(path)
            assert caught.value.reason and type(raised).__name__ in caught.value.detail
    with monkeypatch.context() as patch:
        patch.setattr(Image, "open", fail)  # while identifying
        for call in (load_rgb, image_info):
            with pytest.raises(ImageError) as caught:
                call(path)
            assert caught.value.reason and caught.value.__cause__ is raised
    with monkeypatch.context() as patch:
        patch.setattr(Image.Image, "getexif", fail)
        if isinstance(raised, images.DECODER_ERRORS):  # damaged EXIF costs the rotation only
            assert image_info(path) == images.ImageInfo(24, 16)
            assert_rgb(load_rgb(path), (16, 24))
        else:  # no memory, or a bomb: not something to read past
            for call in (load_rgb, image_info):
                with pytest.raises(ImageError) as caught:
                    call(path)
                assert caught.value.reason


def test_sixteen_bit_memory_bomb_is_refused_before_decoding(tmp_path, monkeypatch):
    path = png_header_only(tmp_path / "deep.png", 16000, 16000, bit_depth=16, color_type=0)
    assert path.stat().st_size < 100 and Image.open(path).mode == "I;16"
    assert 16000 * 16000 <= images.MAX_IMAGE_PIXELS  # under the pixel limit
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self))
    expect_reason(path, "the image is too large to open safely: 16000×16000 at 16 bits per "
                        "channel would need 1.5 GB of memory")
    assert decoded == []
    # An 8-bit RGB photo of the same size stays within the bound (4 bytes a pixel).
    assert image_info(png_header_only(tmp_path / "rgb.png", 16000, 16000)).width == 16000


def test_memory_bound_is_the_modules_setting(tmp_path, monkeypatch):
    path = tmp_path / "deep.png"
    Image.fromarray(np.full((40, 50), 40000, dtype=np.uint16)).save(path)
    assert_rgb(load_rgb(path), (40, 50))
    monkeypatch.setattr(images, "MAX_DECODED_BYTES", 40 * 50 * 5)  # needs 2 + 4 bytes a pixel
    expect_reason(path, "50×40 at 16 bits per channel would need 0.0 GB")


def test_a_pipe_named_jpg_is_refused_without_blocking(tmp_path):
    pipe = tmp_path / "x.jpg"
    os.mkfifo(pipe)
    results = []

    def read_all():
        for call in (load_rgb, image_info, content_hash):
            try:
                call(pipe)
            except ImageError as exc:
                results.append(exc.reason)
    reader = threading.Thread(target=read_all, daemon=True)
    reader.start()
    reader.join(10)
    if reader.is_alive():  # unblock the reader so the test run can end
        with open(pipe, "wb"):
            pass
        pytest.fail("reading a pipe blocked")
    assert results == ["it is not a regular file (a pipe or a device), so it cannot be an image"] * 3


def test_camera_mpo_jpeg_loads(tmp_path):
    first, second = Image.new("RGB", (12, 8), (200, 0, 0)), Image.new("RGB", (12, 8), (0, 0, 200))
    first.save(tmp_path / "camera.jpg", "MPO", save_all=True, append_images=[second])
    assert Image.open(tmp_path / "camera.jpg").format == "MPO"
    assert close(load_rgb(tmp_path / "camera.jpg")[4, 6], (200, 0, 0), 20)


def test_access_problems_are_told_apart_from_damaged_content(tmp_path):
    with pytest.raises(ImageError) as missing:
        load_rgb(tmp_path / "gone.jpg")
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff nothing")
    with pytest.raises(ImageError) as damaged:
        load_rgb(tmp_path / "bad.jpg")
    assert missing.value.is_access_problem and not damaged.value.is_access_problem
