"""Small image files the tests make themselves (no test depends on files outside tmp_path)."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

from PIL import Image


def write_image(path, color=(200, 30, 30), size=(24, 16), mode="RGB", fmt=None, **save) -> Path:
    """A solid-colored image; a different `color` gives different content (and hash)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path, fmt, **save)
    return path


def write_two_color(path, left, right, size=(40, 20), **save) -> Path:
    """Left half `left`, right half `right`: shows which way an image was turned."""
    image = Image.new("RGB", size, left)
    image.paste(right, (size[0] // 2, 0, size[0], size[1]))
    image.save(path, **save)
    return Path(path)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def png_header_only(path, width: int, height: int, bit_depth: int = 8, color_type: int = 2) -> Path:
    """A PNG that claims width×height pixels but holds no pixel data: a decompression bomb's
    header, a few bytes on disk (color type 0 is grayscale, 2 RGB; bit depth 8 or 16)."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IEND", b""))
    return Path(path)


def png_with_chunk(path, kind: bytes, data: bytes, before_pixels: bool = True) -> Path:
    """A small valid PNG with one extra chunk, before its pixel data (read when the file is
    opened) or after it (read when the pixels are decoded)."""
    write_image(path, (10, 120, 200), size=(8, 8), fmt="PNG")
    raw = Path(path).read_bytes()
    at = raw.index(b"IDAT") - 4 if before_pixels else raw.index(b"IEND") - 4
    Path(path).write_bytes(raw[:at] + png_chunk(kind, data) + raw[at:])
    return Path(path)


def png_inflating_past(path, limit: int, kind: bytes = b"zTXt", before_pixels: bool = True) -> Path:
    """A PNG of about 2 KB whose zTXt or iCCP chunk inflates to twice `limit` bytes (Pillow
    refuses more than PngImagePlugin.MAX_TEXT_CHUNK: a ValueError before issue 13)."""
    payload = zlib.compress(b"\0" * (2 * limit), 9)
    return png_with_chunk(path, kind, b"comment\0\0" + payload, before_pixels)


def tiff_second_page_without_width(path) -> Path:
    """A two-page TIFF whose second page lost its ImageWidth tag (256 renamed to a tag nobody
    reads): counting the pages raised Pillow's TypeError "Missing dimensions" before issue 13."""
    pages = [Image.new("RGB", (6, 4), (5, 5, 5)), Image.new("RGB", (6, 4), (9, 9, 9))]
    pages[0].save(path, "TIFF", save_all=True, append_images=pages[1:])
    raw = bytearray(Path(path).read_bytes())
    first = struct.unpack_from("<I", raw, 4)[0]
    count = struct.unpack_from("<H", raw, first)[0]
    second = struct.unpack_from("<I", raw, first + 2 + 12 * count)[0]
    count = struct.unpack_from("<H", raw, second)[0]
    for i in range(count):
        at = second + 2 + 12 * i
        if struct.unpack_from("<H", raw, at)[0] == 256:
            struct.pack_into("<H", raw, at, 0xFDE8)
    Path(path).write_bytes(bytes(raw))
    return Path(path)


def eps_writing(path, marker) -> Path:
    """Encapsulated PostScript (whatever the file is named) that, if Ghostscript ran it, would
    write `marker`: what a hostile "photo" can do when a loader hands it to Ghostscript."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n"
        + b"(" + os.fsencode(str(marker)) + b") (w) file dup (ran) writestring closefile\n"
        + b"showpage\n%%EOF\n")
    return Path(path)


def fake_program(folder, name: str, marker) -> Path:
    """An executable `folder/name` that only writes `marker` when started (put `folder` first
    on PATH to see whether anything starts `name`)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / name
    program.write_text(f"#!/bin/sh\necho started >> '{marker}'\nexit 0\n")
    program.chmod(0o755)
    return program


def truncate(path, keep: float = 0.5) -> Path:
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: int(len(data) * keep)])
    return Path(path)


def noisy_jpeg(path, size=(64, 48), seed=0) -> Path:
    """A JPEG with real texture (solid colors compress to almost nothing, which hides
    truncation)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return Path(path)


def non_utf8_name(folder, stem: bytes = b"caf\xe9", suffix: str = ".png") -> str:
    """A path whose name is not valid UTF-8 (Latin-1 bytes), as str via os.fsdecode."""
    return os.fsdecode(os.path.join(os.fsencode(str(folder)), stem + suffix.encode()))
