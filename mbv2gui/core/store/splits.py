"""The train/validation split: stratified, seeded, and stable as images are added.

Each image's place in its class is decided by a hash of (seed, its key): adding an image to a
class moves at most one other image (or group) across the split, and the same project with the
same seed always gives the same split. Images the user pinned to a split stay there.

Near-duplicate groups (core/store/near_duplicates.py) are dealt as one unit: all of a group's
automatic members land on the same side, the side of a pinned member when it has one, so a
copy of a validation image is never trained on. Pinned members on both sides cannot be moved;
`group_leaks` lists them.
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


def _units(keys: list[str], groups) -> list[int]:
    """A unit number per item: items of one near-duplicate group share one, others their own."""
    unit = list(range(len(keys)))
    where: dict[str, list[int]] = defaultdict(list)
    for index, key in enumerate(keys):
        where[key].append(index)
    for group in groups or ():
        members = [i for key in group for i in where.get(key, ())]
        for index in members:
            unit[index] = members[0]
    return unit


def assign_splits(
    keys: list[str], labels: list[str], pinned: list[str], val_fraction: float, seed: int,
    groups: list[list[str]] | None = None,
) -> list[str]:
    """'train', 'validation' or 'test' for each item. `pinned` holds 'auto' or a fixed split;
    `groups` lists near-duplicate groups by key, each kept on one side."""
    result = [p if p != "auto" else "" for p in pinned]
    unit = _units(keys, groups)
    members_of: dict[int, list[int]] = defaultdict(list)
    for index, u in enumerate(unit):
        members_of[u].append(index)
    for members in members_of.values():  # automatic members follow a pinned one
        side = next((result[i] for i in members if result[i]), "")
        for i in members:
            result[i] = result[i] or side
    by_class: dict[str, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        by_class[label].append(index)
    for class_members in by_class.values():
        wanted = validation_count(len(class_members), val_fraction)
        wanted -= sum(1 for i in class_members if result[i] == "validation")
        free = [i for i in class_members if not result[i]]
        rank = {u: min(_rank(seed, keys[i]) for i in members_of[u]) for u in {unit[i] for i in free}}
        for u in sorted(rank, key=rank.get):
            if result[members_of[u][0]]:
                continue  # dealt already (a group spanning two classes)
            here = sum(1 for i in members_of[u] if labels[i] == labels[class_members[0]])
            # Training must keep some of the class: automatic ones left, or pinned ones.
            left = sum(1 for i in class_members if not result[i] or result[i] == "train") - here
            side = "validation" if 0 < here <= wanted and left > 0 else "train"
            wanted -= here if side == "validation" else 0
            for i in members_of[u]:
                result[i] = side
    return result


def group_leaks(keys: list[str], splits: list[str], groups) -> list[list[int]]:
    """The groups (as item indices) whose members sit in training and in validation or test:
    only pinned images can do that after assign_splits."""
    where: dict[str, list[int]] = defaultdict(list)
    for index, key in enumerate(keys):
        where[key].append(index)
    leaks = []
    for group in groups or ():
        members = [i for key in group for i in where.get(key, ())]
        sides = {splits[i] for i in members}
        if "train" in sides and sides & {"validation", "test"}:
            leaks.append(members)
    return leaks
