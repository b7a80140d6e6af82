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


def png_header_only(path, width: int, height: int) -> Path:
    """A PNG that claims width×height pixels but holds no pixel data: a decompression bomb's
    header, a few bytes on disk."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))
    return Path(path)


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
