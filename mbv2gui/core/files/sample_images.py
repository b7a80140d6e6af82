"""Small generated images whose classes a tiny model can learn in an epoch or two: each class
is a color with a little noise. Used by the packaged app's smoke test and by benchmarks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

COLORS = {"red": (220, 40, 40), "green": (40, 190, 60), "blue": (40, 70, 220),
          "yellow": (230, 210, 40), "purple": (140, 50, 170)}


def write_color_classes(folder: str | Path, classes: tuple[str, ...] = ("red", "blue"),
                        per_class: int = 8, size: int = 48, seed: int = 0) -> list[Path]:
    """Writes `folder/<class>/<class>_<n>.jpg` and returns the files written."""
    rng = np.random.default_rng(seed)
    written = []
    for name in classes:
        (Path(folder) / name).mkdir(parents=True, exist_ok=True)
        base = np.array(COLORS[name], dtype=np.int16)
        for index in range(per_class):
            noise = rng.integers(-30, 31, size=(size, size, 3))
            pixels = np.clip(base + noise, 0, 255).astype(np.uint8)
            path = Path(folder) / name / f"{name}_{index:03d}.jpg"
            Image.fromarray(pixels).save(path, quality=90)
            written.append(path)
    return written
