"""The images an export needs: validation images to check agreement with the app, and training
images to calibrate the int8 model. They are decoded exactly as the app decodes for prediction
(core/pipeline.decode_resized: the one loader in core/files/images.py, then a bilinear resize to S×S),
so the exported model is checked and calibrated on the very pixels the app sees."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mbv2gui.core.errors import JobCancelled, UserError
from mbv2gui.core.files.images import is_image_name

CALIBRATION_IMAGES = 100
CHECK_IMAGES = 200
MIN_CHECK_IMAGES = 30  # a 3-image validation set proves little: top up with training images


def spread(items: list, count: int) -> list:
    """Up to `count` items evenly spread over the list (classes are often stored in order)."""
    if len(items) <= count:
        return list(items)
    return [items[int(i * len(items) / count)] for i in range(count)]


def training_paths(run, project_path=None) -> tuple[list[str], str]:
    """(paths, where they come from) of training images. From the project or folder the run was
    trained on when given; else the other images in the folders of the run's validation images
    (a folder run keeps one subfolder per class, so those hold its training images too)."""
    if project_path:
        from mbv2gui.core.training.dataset import load_train_data

        try:
            _, data = load_train_data(str(project_path), run.config.val_split, run.config.seed)
        except UserError:  # e.g. its labels were cleared since: fall back to the run's folders
            data = None
        paths = [s.path for s in data.samples if s.split == "train"] if data else []
        if paths:
            return paths, f"training images of {Path(project_path).name}"
    held_out = {row["path"] for row in run.predictions}
    paths = []
    for folder in sorted({os.path.dirname(p) for p in held_out}):
        if os.path.isdir(folder):
            paths += sorted(p for p in (os.path.join(folder, f) for f in os.listdir(folder))
                            if is_image_name(p) and p not in held_out)
    return paths, "images beside the run's validation images"


def check_paths(run, train_paths: list[str]) -> tuple[list[str], str]:
    """Images to compare the export with the app on, and how they were chosen."""
    paths = [row["path"] for row in run.predictions]
    if len(paths) >= MIN_CHECK_IMAGES:
        return spread(paths, CHECK_IMAGES), "validation images"
    extra = spread(train_paths, MIN_CHECK_IMAGES - len(paths))
    return paths + extra, ("validation images topped up with training images" if extra
                           else "validation images")


def decode(paths: list[str], size: int, should_stop) -> np.ndarray:
    """(N, S, S, 3) float32 0..255; unreadable files are skipped (the check needs pixels, not
    every file)."""
    from mbv2gui.core.training.pipeline import iter_decoded

    images = [item for _, item in iter_decoded(paths, size, should_stop)
              if isinstance(item, np.ndarray)]
    if should_stop():
        raise JobCancelled()
    if not images:
        return np.zeros((0, size, size, 3), np.float32)
    return np.stack(images).astype(np.float32)
