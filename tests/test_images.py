"""The one loader: every odd file becomes RGB uint8 or an ImageError with a named reason."""

from __future__ import annotations

import builtins
import errno
import os

import numpy as np
import pytest
from PIL import Image

from imagefiles import noisy_jpeg, non_utf8_name, png_header_only, truncate, write_image, write_two_color
from mbv2gui.core import images
from mbv2gui.core.images import ImageError, content_hash, image_info, load_pil, load_rgb


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
