"""The rows a project hands out (plain frozen dataclasses) and how image rows and paths are
stored: paths as the file system's bytes, so any file name survives."""

from __future__ import annotations

import os
from dataclasses import dataclass


def encode_path(path: str | os.PathLike) -> bytes:
    return os.fsencode(os.path.abspath(path))


def decode_path(raw: bytes) -> str:
    return os.fsdecode(raw)


@dataclass(frozen=True)
class ClassInfo:
    id: int
    name: str
    color: str
    position: int


@dataclass(frozen=True)
class NewImage:
    """What the importer knows about a file before it joins a project."""

    path: str
    size: int
    mtime: float
    content_hash: str | None
    width: int | None
    height: int | None
    status: str = "ok"
    reason: str | None = None
    label: str | None = None  # a class name; created if new


@dataclass(frozen=True)
class ImageRecord:
    id: int
    path: str
    size: int
    mtime: float
    content_hash: str | None
    width: int | None
    height: int | None
    class_id: int | None
    split: str
    status: str
    reason: str | None
    excluded: bool


@dataclass(frozen=True)
class LabeledImage:
    """A labeled, usable image as training sees it."""

    id: int
    path: str
    content_hash: str
    label: str
    split: str
    status: str


@dataclass(frozen=True)
class RunRecord:
    id: str
    created: str
    run_dir: str
    config: dict
    metrics: dict


IMAGE_COLUMNS = (
    "id, path, size, mtime, content_hash, width, height, class_id, split, status, reason, excluded"
)


def image_from_row(row: tuple) -> ImageRecord:
    return ImageRecord(
        row[0], decode_path(row[1]), row[2], row[3], row[4], row[5], row[6], row[7],
        row[8], row[9], row[10], bool(row[11]),
    )
