"""The one image loader: any file in, an RGB uint8 array (H, W, 3) out, or an `ImageError`
that names the file and says in words what is wrong.

Training, thumbnails, prediction and export calibration all read pixels through `load_rgb`,
so the app and every exported model see exactly the same pixels.

No file can hurt the app through this module:
  - only the six formats the app supports are tried (`SUPPORTED_FORMATS`), so a `.jpg` that is
    really PostScript is refused instead of being handed to Ghostscript, and no other program
    is ever started;
  - only regular files are opened (a pipe named `x.jpg` would block forever, a link to
    `/dev/zero` would read forever);
  - images too large to decode safely are refused from their header, before decoding;
  - whatever a decoder raises on damaged or hostile data becomes an `ImageError` with a reason,
    in one place (`_reading`).
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import struct
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator

import numpy as np
from PIL import Image, ImageMode, UnidentifiedImageError

from mbv2gui.core.errors import UserError

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
)

# Pillow's format ids for IMAGE_EXTENSIONS; Pillow tries no other plugin (no EPS, so never
# Ghostscript). Camera JPEGs that Pillow reports as "MPO" (several pictures in one file) are
# identified by the JPEG plugin, so "JPEG" covers them (Pillow refuses "MPO" here: it has no
# opener of its own).
SUPPORTED_FORMATS = ("JPEG", "PNG", "BMP", "GIF", "WEBP", "TIFF")

# Pillow's own guard against decompression bombs: refuse images above this many pixels.
# 16k x 16k is larger than any camera or scanner photo a user would label.
MAX_IMAGE_PIXELS = 16384 * 16384
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS

# The memory one decode may take (the decoded image plus its RGB conversion). A laptop's
# 8 GB is shared by the window, TensorFlow and up to four decoders at once (thumbnail threads,
# import workers), so one image gets at most an eighth. Every RGB photo under MAX_IMAGE_PIXELS
# fits (Pillow stores RGB in 4 bytes a pixel: 16384² × 4 = 1 GiB); what this refuses is a deep
# or wide image under the pixel limit, such as a 16-bit 16000×16000 PNG of a few hundred KB.
MAX_DECODED_BYTES = 1 << 30

# What Pillow's decoders raise on damaged or hostile data. Issue 13 and tests/test_image_fuzz.py
# met OSError, SyntaxError, ValueError, TypeError and IndexError; Pillow itself treats SyntaxError,
# IndexError, TypeError and struct.error as "not this format"; the rest is what its plugins'
# parsing of a malformed field can raise. Anything else is a bug in mbv2gui and is not hidden.
DECODER_ERRORS = (OSError, SyntaxError, EOFError, ValueError, TypeError, struct.error,
                  IndexError, KeyError, ZeroDivisionError, OverflowError, RuntimeError)

NOT_AN_IMAGE = "it is not an image file mbv2gui can read (a wrong extension, or a damaged file)"
DAMAGED = "the image data is damaged and cannot be decoded"
TRUNCATED = "the file is truncated (incomplete download or copy)"

# EXIF orientation -> the transpose that shows the image upright (as ImageOps.exif_transpose).
_UPRIGHT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
            4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
            6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
            8: Image.Transpose.ROTATE_90}


class ImageError(UserError):
    """A file that cannot be used as an image; `reason` is a short phrase for lists."""

    def __init__(self, path: str | os.PathLike, reason: str, detail: str = ""):
        self.path = str(path)
        self.reason = reason
        name = display_path(path)
        super().__init__(f"{name} cannot be used: {reason}.", detail)

    @property
    def is_access_problem(self) -> bool:
        """True when the file could not be read at all (missing, permission denied, an I/O
        error), as opposed to read and found not to be a usable image."""
        cause = self.__cause__
        return isinstance(cause, OSError) and cause.errno is not None


def display_path(path: str | os.PathLike) -> str:
    """A path as text that never fails to print, even if it is not valid UTF-8."""
    text = os.fsdecode(path) if isinstance(path, bytes) else str(path)
    return text.encode("utf-8", "replace").decode("utf-8")


def is_image_name(path: str | os.PathLike) -> bool:
    return Path(os.fsdecode(path)).suffix.lower() in IMAGE_EXTENSIONS


def content_hash(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """SHA-1 of the file's bytes: identifies an image's content wherever it lies."""
    digest = hashlib.sha1()
    with _regular_file(path) as handle:
        try:
            while chunk := handle.read(chunk_size):
                digest.update(chunk)
        except OSError as exc:
            raise ImageError(path, _os_reason(exc), str(exc)) from exc
    return digest.hexdigest()


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int


def _os_reason(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied (the file cannot be read by you; check its permissions)"
    if exc.errno == errno.ENOENT:
        return "the file is missing (it was moved or deleted)"
    if exc.errno == errno.EISDIR:
        return "it is a folder, not a file"
    return f"the file could not be read ({exc.strerror or exc})"


def _open_nonblocking(name, flags: int) -> int:
    # A pipe opened for reading blocks until a writer comes; non-blocking, it opens at once and
    # fstat then refuses it. A regular file reads the same either way.
    return os.open(name, flags | getattr(os, "O_NONBLOCK", 0))


@contextmanager
def _regular_file(path: str | os.PathLike) -> Iterator[IO[bytes]]:
    """The file opened for reading, if it is a regular file; else an ImageError."""
    try:
        handle = open(path, "rb", opener=_open_nonblocking)
    except OSError as exc:
        raise ImageError(path, _os_reason(exc), str(exc)) from exc
    with handle:
        mode = os.fstat(handle.fileno()).st_mode
        if stat.S_ISDIR(mode):
            raise ImageError(path, "it is a folder, not a file")
        if not stat.S_ISREG(mode):
            raise ImageError(path, "it is not a regular file (a pipe or a device), so it cannot "
                                   "be an image")
        yield handle


def _decoder_reason(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.errno is not None:
        return _os_reason(exc)
    if isinstance(exc, EOFError) or "truncated" in str(exc).lower():
        return TRUNCATED
    return DAMAGED


@contextmanager
def _reading(path: str | os.PathLike) -> Iterator[None]:
    """The one place where what Pillow raises while opening or decoding `path` becomes an
    ImageError with a reason (the exception's type and text go into its detail)."""
    try:
        yield
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(path, "the image is too large to open safely (a possible "
                               "decompression bomb)", _detail(exc)) from exc
    except UnidentifiedImageError as exc:
        raise ImageError(path, NOT_AN_IMAGE, _detail(exc)) from exc
    except MemoryError as exc:
        raise ImageError(path, "there is not enough memory to decode it (close other programs "
                               "and try again)", _detail(exc)) from exc
    except DECODER_ERRORS as exc:
        raise ImageError(path, _decoder_reason(exc), _detail(exc)) from exc


def _detail(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _stored_bytes_per_pixel(mode: str) -> int:
    """Bytes a pixel of `mode` takes in Pillow's memory: one band at its own depth (1 for L
    and P, 2 for I;16, 4 for I and F); several 8-bit bands always 4 (RGB too)."""
    info = ImageMode.getmode(mode)
    return 4 if len(info.bands) > 1 else int(info.typestr[-1])


def _decoded_bytes(mode: str, size: tuple[int, int]) -> int:
    """Memory to decode an image of this mode and size and convert it to RGB."""
    conversion = 0 if mode == "RGB" else _stored_bytes_per_pixel("RGB")
    return size[0] * size[1] * (_stored_bytes_per_pixel(mode) + conversion)


def _refuse_oversized(path: str | os.PathLike, image: Image.Image) -> None:
    """Refuses from the header alone an image whose decode would take too much memory."""
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        raise ImageError(path, "the image is too large to open safely (a possible "
                               "decompression bomb)",
                         f"{width}×{height} pixels; at most {MAX_IMAGE_PIXELS:,} are opened")
    needed = _decoded_bytes(image.mode, image.size)
    if needed > MAX_DECODED_BYTES:
        bits = 8 * int(ImageMode.getmode(image.mode).typestr[-1])
        raise ImageError(path, f"the image is too large to open safely: {width}×{height} at "
                               f"{bits} bits per channel would need {needed / 1e9:.1f} GB of "
                               "memory", f"mode {image.mode}; at most {MAX_DECODED_BYTES:,} "
                                         "bytes are used for one image")


@contextmanager
def _opened(path: str | os.PathLike) -> Iterator[Image.Image]:
    """The file identified as one of SUPPORTED_FORMATS, checked for size; anything raised
    while the caller reads it (decoding included) becomes an ImageError."""
    # Pillow reads from our handle, never from the path: it neither opens a pipe nor maps the
    # file into memory (a mapped file that shrinks under it would crash the process).
    with _regular_file(path) as handle, _reading(path):
        if os.fstat(handle.fileno()).st_size == 0:
            raise ImageError(path, "the file is empty (0 bytes)")
        image = Image.open(handle, formats=SUPPORTED_FORMATS)
        _refuse_oversized(path, image)
        yield image


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation (1 = upright). Damaged EXIF is metadata, not pixels: it is read
    as upright rather than costing the user the picture."""
    try:
        orientation = image.getexif().get(0x0112, 1)
    except DECODER_ERRORS:
        return 1
    return orientation if orientation in _UPRIGHT else 1


def _sixteen_bit_to_l(image: Image.Image) -> Image.Image:
    """16/32-bit grayscale to 8-bit: the real range scaled to 0..255 instead of clipped to
    white, a few rows at a time so a large image needs no big float copy."""
    array = np.asarray(image)
    divisor = 65535 if int(array.max(initial=0)) > 255 else 255
    out = np.empty(array.shape, dtype=np.uint8)
    rows = max(1, (1 << 22) // max(1, array.shape[1]))
    for start in range(0, array.shape[0], rows):
        block = np.clip(array[start:start + rows], 0, 65535).astype(np.uint32)
        out[start:start + rows] = block * 255 // divisor
    return Image.fromarray(out, mode="L")


def _to_rgb(image: Image.Image) -> Image.Image:
    """Orientation from EXIF, then any mode (L, P, I;16, CMYK, RGBA, LA...) to plain RGB."""
    orientation = _orientation(image)
    if orientation != 1:
        image = image.transpose(_UPRIGHT[orientation])
    if image.mode == "RGB":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        image = _sixteen_bit_to_l(image)
    if image.mode in ("P", "RGBA", "LA", "PA") and (image.mode != "P" or "transparency" in image.info):
        # Transparent areas become white, as image viewers show them.
        rgba = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def load_rgb(path: str | os.PathLike, max_side: int | None = None) -> np.ndarray:
    """Read any supported file as an RGB uint8 array of shape (H, W, 3).

    `max_side`: when given, the image may be decoded smaller (JPEG draft mode / reduce) so that
    its longer side is at least `max_side` but not much more; callers resize exactly afterwards.
    Raises `ImageError` with the file name and a reason for anything that is not a usable image.
    """
    return np.asarray(load_pil(path, max_side))


def load_pil(path: str | os.PathLike, max_side: int | None = None) -> Image.Image:
    """Like `load_rgb` but returns the RGB PIL image (for thumbnails and resizing). Animated
    GIF/WebP/TIFF give their first frame."""
    with _opened(path) as image:
        if max_side:
            # draft() lets libjpeg decode at 1/2, 1/4 or 1/8 scale: far faster for small outputs.
            image.draft("RGB", (max_side, max_side))
        image.load()  # the pixels now live in memory; closing the file later is safe
        image = _to_rgb(image)
        # reduce() after the conversion: Pillow cannot reduce P, 1 or I;16 images ("wrong mode").
        if max_side and max(image.size) > 2 * max_side:
            image = image.reduce(max(1, max(image.size) // (2 * max_side)))
        return image


def image_info(path: str | os.PathLike) -> ImageInfo:
    """Width and height as displayed (after EXIF rotation), reading only the header."""
    with _opened(path) as image:
        width, height = image.size
        if _orientation(image) in (5, 6, 7, 8):
            width, height = height, width
        return ImageInfo(width, height)
