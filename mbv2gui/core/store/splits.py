"""The train/validation split: stratified, seeded, and stable as images are added.

Each image's place in its class is decided by a hash of (seed, its key): adding an image to a
class moves at most one other image across the split, and the same project with the same seed
always gives the same split. Images the user pinned to a split stay there.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

SPLITS = ("auto", "train", "validation", "test")
ASSIGNED_SPLITS = SPLITS[1:]  # where an image ends up once "auto" is decided
# Each split in the words the Label view shows, in the order above.
SPLIT_WORDS = {"auto": "Automatic", "train": "Training", "validation": "Validation", "test": "Test"}


def _rank(seed: int, key: str) -> str:
    return hashlib.sha1(f"{seed}:{key}".encode("utf-8", "surrogateescape")).hexdigest()


def validation_count(class_size: int, val_fraction: float) -> int:
    """How many of a class's images go to validation: at least one when the class has two or
    more images and a split was asked for, so every class is checked."""
    if val_fraction <= 0 or class_size < 2:
        return 0
    return min(class_size - 1, max(1, round(class_size * val_fraction)))


def assign_splits(
    keys: list[str], labels: list[str], pinned: list[str], val_fraction: float, seed: int
) -> list[str]:
    """'train', 'validation' or 'test' for each item. `pinned` holds 'auto' or a fixed split."""
    result = [p if p != "auto" else "" for p in pinned]
    by_class: dict[str, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        by_class[label].append(index)
    for members in by_class.values():
        wanted = validation_count(len(members), val_fraction)
        wanted -= sum(1 for i in members if result[i] == "validation")
        free = sorted((i for i in members if not result[i]), key=lambda i: _rank(seed, keys[i]))
        for order, index in enumerate(free):
            result[index] = "validation" if order < wanted else "train"
    return result
