"""The one image loader: any file in, an RGB uint8 array (H, W, 3) out, or an `ImageError`
that names the file and says in words what is wrong.

Training, thumbnails, prediction and export calibration all read pixels through `load_rgb`,
so the app and every exported model see exactly the same pixels.
"""

from __future__ import annotations

import errno
import hashlib
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from mbv2gui.core.errors import UserError

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
)

# Pillow's own guard against decompression bombs: refuse images above this many pixels.
# 16k x 16k is larger than any camera or scanner photo a user would label.
MAX_IMAGE_PIXELS = 16384 * 16384
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS


class ImageError(UserError):
    """A file that cannot be used as an image; `reason` is a short phrase for lists."""

    def __init__(self, path: str | os.PathLike, reason: str, detail: str = ""):
        self.path = str(path)
        self.reason = reason
        name = display_path(path)
        super().__init__(f"{name} cannot be used: {reason}.", detail)


def display_path(path: str | os.PathLike) -> str:
    """A path as text that never fails to print, even if it is not valid UTF-8."""
    text = os.fsdecode(path) if isinstance(path, bytes) else str(path)
    return text.encode("utf-8", "replace").decode("utf-8")


def is_image_name(path: str | os.PathLike) -> bool:
    return Path(os.fsdecode(path)).suffix.lower() in IMAGE_EXTENSIONS


def content_hash(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """SHA-1 of the file's bytes: identifies an image's content wherever it lies."""
    digest = hashlib.sha1()
    try:
        with open(path, "rb") as handle:
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


def _open(path: str | os.PathLike) -> Image.Image:
    """Open and identify a file, translating every failure into an ImageError."""
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise ImageError(path, _os_reason(exc), str(exc)) from exc
    if size == 0:
        raise ImageError(path, "the file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            # A bomb *warning* (between 1x and 2x the limit) is treated as the error it nearly is.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise Image.DecompressionBombError("too many pixels")
        return image
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(
            path, "the image is too large to open safely (a possible decompression bomb)", str(exc)
        ) from exc
    except UnidentifiedImageError as exc:
        raise ImageError(
            path, "it is not an image file mbv2gui can read (a wrong extension, or a damaged file)", str(exc)
        ) from exc
    except OSError as exc:
        raise ImageError(path, _os_reason(exc), str(exc)) from exc


def _to_rgb(image: Image.Image) -> Image.Image:
    """Orientation from EXIF, then any mode (L, P, I;16, CMYK, RGBA, LA...) to plain RGB."""
    image = ImageOps.exif_transpose(image)
    if image.mode == "RGB":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16/32-bit grayscale: scale the real range to 0..255 instead of clipping to white.
        array = np.asarray(image, dtype=np.float64)
        peak = float(array.max()) or 1.0
        scale = 255.0 / (65535.0 if peak > 255 else 255.0)
        image = Image.fromarray(np.clip(array * scale, 0, 255).astype(np.uint8), mode="L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        # Transparent areas become white, as image viewers show them.
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
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
    """Like `load_rgb` but returns the RGB PIL image (for thumbnails and resizing)."""
    opened = _open(path)
    try:
        image = opened
        if max_side:
            # draft() lets libjpeg decode at 1/2, 1/4 or 1/8 scale: far faster for small outputs.
            image.draft("RGB", (max_side, max_side))
        if getattr(image, "n_frames", 1) > 1:
            image.seek(0)  # animated GIF/WebP/TIFF: the first frame
        image.load()
        # exif_transpose and convert always return a new image, so closing the file is safe.
        image = _to_rgb(image)
        # reduce() after the conversion: Pillow cannot reduce P, 1 or I;16 images ("wrong mode").
        if max_side and max(image.size) > 2 * max_side:
            image = image.reduce(max(1, max(image.size) // (2 * max_side)))
        return image
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(path, "the image is too large to open safely", str(exc)) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        text = str(exc)
        if "truncated" in text.lower() or isinstance(exc, EOFError):
            reason = "the file is truncated (incomplete download or copy)"
        else:
            reason = "the image data is damaged and cannot be decoded"
        raise ImageError(path, reason, text) from exc
    finally:
        opened.close()


def image_info(path: str | os.PathLike) -> ImageInfo:
    """Width and height as displayed (after EXIF rotation), reading only the header."""
    image = _open(path)
    try:
        width, height = image.size
        orientation = image.getexif().get(0x0112, 1)
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        return ImageInfo(width, height)
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(path, "the image header is damaged", str(exc)) from exc
    finally:
        image.close()
