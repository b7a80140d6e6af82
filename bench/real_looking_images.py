"""A big folder of real-looking images made from a few real photos: seeded variants (a random
crop resized back, a horizontal flip, a small brightness and contrast change) of
../shared/datasets/cifar10-5k's 5,000 32x32 JPEGs, in the same class folders. The photos stay
where they are; only the variants are written (under the folder given, never in the repo).

    write_variants(Path("/tmp/big/images"), 50_000)   # 10 variants of each photo

File i is variant i // 5000 of photo i % 5000 (photos taken round-robin over the classes), so a
small count still covers every class with distinct photos. Every file's bytes differ: the
variant's index is also in the JPEG comment, for the rare variant whose pixels match another's.
A second call with the same count reuses the files (a marker file says they are complete).
"""

from __future__ import annotations

import random
import shutil
from concurrent.futures import ThreadPoolExecutor
from itertools import zip_longest
from pathlib import Path

from PIL import Image, ImageEnhance, ImageOps

CIFAR = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "cifar10-5k"


def source_photos(root: Path = CIFAR) -> list[Path]:
    """The photos, one class after another in turn (round-robin), each class's in name order."""
    classes = [sorted(folder.glob("*.jpg")) for folder in sorted(root.iterdir()) if folder.is_dir()]
    if not classes or not any(classes):
        raise SystemExit(f"No photos in {root}: the bench needs cifar10-5k's class folders.")
    return [photo for row in zip_longest(*classes) for photo in row if photo is not None]


def variant(photo: Path, seed: int) -> Image.Image:
    """One seeded variant, the same size as the photo."""
    rng = random.Random(seed)
    with Image.open(photo) as opened:
        image = opened.convert("RGB")
    width, height = image.size
    scale = rng.uniform(0.75, 1.0)  # the crop's side as a share of the photo's
    w, h = max(8, round(width * scale)), max(8, round(height * scale))
    x, y = rng.randint(0, width - w), rng.randint(0, height - h)
    image = image.resize((width, height), Image.Resampling.BICUBIC, box=(x, y, x + w, y + h))
    if rng.random() < 0.5:
        image = ImageOps.mirror(image)
    image = ImageEnhance.Brightness(image).enhance(rng.uniform(0.85, 1.15))
    return ImageEnhance.Contrast(image).enhance(rng.uniform(0.85, 1.15))


def write_variants(images: Path, count: int, workers: int = 2) -> float:
    """Writes `count` variants into images/<class>/; returns the seconds it took (0 if reused)."""
    import time

    marker = images / f".variants-{count}"
    if marker.exists():
        return 0.0
    shutil.rmtree(images, ignore_errors=True)
    photos = source_photos()
    for folder in {photo.parent.name for photo in photos}:
        (images / folder).mkdir(parents=True)

    def write(index: int) -> None:
        photo = photos[index % len(photos)]
        number = index // len(photos)
        variant(photo, seed=index).save(
            images / photo.parent.name / f"{photo.stem}_v{number}.jpg", quality=92,
            comment=f"mbv2gui bench variant {index}".encode())

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:  # Pillow releases the GIL while coding JPEGs
        list(pool.map(write, range(count), chunksize=256))
    marker.touch()
    return time.perf_counter() - start
