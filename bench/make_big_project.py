"""Makes a big project the real way: N small generated JPEGs in class folders, imported with the
real importer (hashing, headers, batched inserts), then checked as on open. Prints JSON.

    python bench/make_big_project.py /tmp/big            # 50,000 images
    python bench/make_big_project.py /tmp/big -n 5000

Leaves FOLDER/images/class_k/*.jpg and FOLDER/bench.mbv2 (no thumbnails: the gallery bench must
make them itself). Image files are reused on a second run with the same N; the project is not.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image, ImageDraw  # noqa: E402

from mbv2gui.core.files.filecheck import check_files  # noqa: E402
from mbv2gui.core.files.importer import import_paths  # noqa: E402
from mbv2gui.core.store.project import Project, sidecar_for  # noqa: E402

PALETTE = [(230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178),
           (213, 94, 0), (204, 121, 167)]


def write_one(folder: Path, index: int, classes: int, side: int) -> None:
    """A class-colored background with a shape whose place and color follow `index`, so every
    file differs in pixels (none is a duplicate) and classes look different."""
    label = index % classes
    image = Image.new("RGB", (side, side), PALETTE[label % len(PALETTE)])
    draw = ImageDraw.Draw(image)
    x, y = (index * 7) % (side - 16), (index // 7 * 5) % (side - 16)
    color = ((index * 37) % 256, (index * 91) % 256, (index // 256 * 53) % 256)
    if label % 2:
        draw.ellipse((x, y, x + 16, y + 16), fill=color)
    else:
        draw.rectangle((x, y, x + 16, y + 16), fill=color)
    # The index in the JPEG comment too: unique bytes even where two drawings coincide.
    image.save(folder / f"class_{label}" / f"img_{index:06}.jpg", quality=90,
               comment=f"mbv2gui bench {index}".encode())


def generate(images: Path, count: int, classes: int, side: int) -> float:
    marker = images / f".generated-{count}-{classes}-{side}"
    if marker.exists():
        return 0.0
    shutil.rmtree(images, ignore_errors=True)
    for label in range(classes):
        (images / f"class_{label}").mkdir(parents=True)
    start = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:  # Pillow's JPEG encoder releases the GIL
        list(pool.map(lambda i: write_one(images, i, classes, side), range(count), chunksize=256))
    marker.touch()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("-n", "--count", type=int, default=50_000)
    parser.add_argument("--classes", type=int, default=5)
    parser.add_argument("--side", type=int, default=64)
    args = parser.parse_args(argv)

    images = args.folder / "images"
    generate_seconds = generate(images, args.count, args.classes, args.side)

    project_path = args.folder / "bench.mbv2"
    for old in (project_path, Path(f"{project_path}-wal"), Path(f"{project_path}-shm")):
        old.unlink(missing_ok=True)
    shutil.rmtree(sidecar_for(project_path), ignore_errors=True)
    Project.create(project_path).close()

    batches = []
    start = time.perf_counter()
    summary = import_paths(project_path, [images],
                           lambda e: batches.append(1) if e["type"] == "images_added" else None,
                           lambda: False)
    import_seconds = time.perf_counter() - start

    start = time.perf_counter()
    check = check_files(project_path, lambda e: None, lambda: False)
    check_seconds = time.perf_counter() - start

    result = {
        "files": args.count,
        "added": len(summary.added_ids),
        "duplicates": len(summary.duplicates),
        "classes": len(summary.classes_created),
        "images_added_events": len(batches),
        "generate_seconds": round(generate_seconds, 2),
        "seconds": round(import_seconds, 2),
        "images_per_second": round(len(summary.added_ids) / import_seconds, 1),
        "check_on_open_seconds": round(check_seconds, 2),
        "check_counts": check["counts"],
        "project": str(project_path),
        "sentence": summary.sentence(),
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
