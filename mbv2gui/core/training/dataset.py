"""What a training run learns from: the class names (output order) and the samples, each with
its path, content hash, label and split. Built from a folder of class subfolders or a project,
and checked so that bad input gets a sentence instead of a traceback."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from mbv2gui.core.errors import UserError
from mbv2gui.core.files.images import ImageError, content_hash
from mbv2gui.core.store.sidecar import features_folder
from mbv2gui.core.store.splits import ASSIGNED_SPLITS, assign_splits, validation_count


@dataclass(frozen=True)
class Sample:
    path: str
    content_hash: str
    label: str
    split: str  # 'train' | 'validation' | 'test'


@dataclass
class TrainData:
    class_names: list[str]
    samples: list[Sample]
    source: str = ""  # a folder or a project file, for messages and the run's config
    cache_dir: Path | None = None  # where features are cached (None: a per-user cache)
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    def split(self, name: str) -> list[Sample]:
        return [s for s in self.samples if s.split == name]

    def label_index(self, sample: Sample) -> int:
        return self.class_names.index(sample.label)

    def counts(self) -> dict:
        return {split: dict(Counter(s.label for s in self.split(split)))
                for split in ASSIGNED_SPLITS}

    @classmethod
    def from_folder(cls, folder, val_split: float = 0.2, seed: int = 0) -> "TrainData":
        from mbv2gui.core.files.folders import class_folder

        folder = Path(folder)
        if not folder.is_dir():
            raise UserError(f"{folder} is not a folder; give a folder with one subfolder of "
                            "images per class, or a project file.")
        listing = class_folder(folder)
        classes = listing.classes
        paths, labels, hashes, unreadable = [], [], [], []
        for found in listing.found:
            if found.problem:  # a pipe or a device: hashing it would never end
                unreadable.append((found.path, found.problem))
                continue
            try:
                hashes.append(content_hash(found.path))
            except ImageError as exc:
                unreadable.append((found.path, exc.reason))
                continue
            paths.append(found.path)
            labels.append(found.label)
        check_classes(classes, labels, val_split, f"the folder {folder.name}")
        keys = [os.path.relpath(p, folder) for p in paths]
        splits = assign_splits(keys, labels, ["auto"] * len(paths), val_split, seed)
        samples = [Sample(*row) for row in zip(paths, hashes, labels, splits)]
        return cls(classes, samples, str(folder), None, unreadable)

    @classmethod
    def from_project(cls, project, val_split: float = 0.2, seed: int = 0) -> "TrainData":
        images = project.labeled_images()
        labels = [im.label for im in images]
        # Every class of the project is an output of the model, so an empty one is an error.
        classes = project.class_names()
        check_classes(classes, labels, val_split, f"the project {Path(project.path).stem}")
        from mbv2gui.core.store.near_duplicates import stored_groups

        keys = [im.content_hash or str(im.id) for im in images]
        # Near-duplicate groups stay on one side: a copy of a validation image is not trained on.
        splits = assign_splits(keys, labels, [im.split for im in images], val_split, seed,
                               stored_groups(project))
        samples = [Sample(im.path, im.content_hash, im.label, split)
                   for im, split in zip(images, splits)]
        return cls(classes, samples, str(project.path), features_folder(project.path))


def check_classes(classes: list[str], labels: list[str], val_split: float, where: str) -> None:
    counts = Counter(labels)
    if len(classes) < 2:
        raise UserError(f"Training needs at least two classes, and {where} has "
                        f"{len(classes) or 'no'} class{'' if len(classes) == 1 else 'es'}; "
                        "add images of another class.")
    empty = [c for c in classes if counts[c] == 0]
    if empty:
        raise UserError(f"The class “{empty[0]}” has no images; add some, or delete the class."
                        if len(empty) == 1 else
                        f"The classes {', '.join('“%s”' % c for c in empty)} have no images; "
                        "add some, or delete those classes.")
    if val_split > 0:
        few = [c for c in classes if validation_count(counts[c], val_split) == 0]
        if few:
            raise UserError(f"The class “{few[0]}” has only {counts[few[0]]} image, too few to "
                            "keep one for validation; add images to it, or set the validation "
                            "split to 0.")


def check_usable(data: TrainData, usable: set[int]) -> None:
    """After decoding: some images of every class must have been readable."""
    if not usable:
        raise UserError("None of the images could be read, so there is nothing to train on; "
                        "check that the files are images (JPEG, PNG, ...) and not damaged.")
    labels = {data.samples[i].label for i in usable if data.samples[i].split == "train"}
    missing = [c for c in data.class_names if c not in labels]
    if missing:
        raise UserError(f"No readable training image is left for the class “{missing[0]}”; "
                        "add images to it or fix the unreadable ones.")


def balanced_weights(labels, n_classes: int):
    """Per-sample weights that give every class the same total weight (class imbalance)."""
    import numpy as np

    counts = np.bincount(labels, minlength=n_classes).astype(np.float32)
    return (len(labels) / (n_classes * counts[labels])).astype(np.float32)


def load_train_data(data, val_split: float, seed: int):
    """(project file or None, TrainData) from a Project, a project file, a folder or TrainData.
    A Project is reopened from its file: this job (often on a worker thread) needs its own
    SQLite connection."""
    from mbv2gui.core.store.project import PROJECT_SUFFIX, Project

    if isinstance(data, TrainData):
        return None, data
    path = getattr(data, "path", None)
    path = Path(path if path is not None else data)
    if path.suffix == PROJECT_SUFFIX and path.is_file():
        project = Project.open(path)
        try:
            return path, TrainData.from_project(project, val_split, seed)
        finally:
            project.close()
    return None, TrainData.from_folder(path, val_split, seed)
