"""Seeded fuzz test of the one image loader (issue 13): a few hundred damaged, hostile and
disguised files made from tiny valid images go through `load_rgb`, `load_pil(max_side=…)`,
`image_info`, `content_hash`, the thumbnail maker and once through the importer.

Asserted: no exception but `ImageError` escapes, every `ImageError` has a reason, no call hangs,
no program is started (a fake `gs` first on PATH, and `subprocess.Popen` watched), and the
importer returns with every valid file mixed in imported as "ok". A one-line summary is printed
(kinds, files, named with a reason, crashes, hangs, external programs).
"""

from __future__ import annotations

import os
import random
import struct
import subprocess
import threading
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import EpsImagePlugin, Image

from imagefiles import eps_writing, fake_program
from mbv2gui.core.files.images import ImageError, content_hash, image_info, load_pil, load_rgb
from mbv2gui.core.files.importer import import_paths
from mbv2gui.core.store.project import Project
from mbv2gui.core.files.thumbnails import ThumbnailCache

SEED = 20261206
FILES = 420
GUARD_SECONDS = 20  # one file's calls; a hang fails the test instead of blocking the run

# ---------------------------------------------------------------- tiny valid images

def _noise(size, mode="RGB", seed=0):
    rng = np.random.default_rng(seed)
    channels = len(mode)
    array = rng.integers(0, 255, (size[1], size[0], channels), dtype=np.uint8)
    return Image.fromarray(array.squeeze(), mode if channels > 1 else "L")


def _bases(folder: Path) -> list[Path]:
    """One or more tiny valid files per supported format (textured, so data matters)."""
    folder.mkdir()
    rgb = _noise((20, 14))
    made = []

    def save(name, image, **options):
        path = folder / name
        image.save(path, **options)
        made.append(path)

    save("rgb.png", rgb)
    save("rgba.png", _noise((12, 10), "RGBA", 1))
    save("palette.png", rgb.convert("P"))
    save("deep.png", Image.fromarray(np.arange(96, dtype=np.uint16).reshape(8, 12) * 600))
    exif = Image.Exif()
    exif[0x0112] = 6
    save("photo.jpg", rgb, quality=80, exif=exif.tobytes())
    save("progressive.jpg", _noise((24, 16), seed=2), quality=70, progressive=True)
    save("gray.jpg", _noise((16, 16), "L", 3))
    save("page.tif", rgb)
    save("deflate.tif", rgb, compression="tiff_adobe_deflate")
    frames = [_noise((10, 10), seed=s).convert("P") for s in range(3)]
    save("anim.gif", frames[0], save_all=True, append_images=frames[1:], duration=40, loop=0)
    save("lossy.webp", rgb, quality=60)
    save("lossless.webp", rgb, lossless=True)
    save("plain.bmp", rgb)
    save("palette.bmp", rgb.convert("P"))
    return made


# ---------------------------------------------------------------- where the fields are

def _png_fields(data: bytes):
    lengths, header, at = [], [(16, 4), (20, 4), (24, 1), (25, 1), (26, 1), (28, 1)], 8
    while at + 8 <= len(data):
        lengths.append((at, 4))
        at += 12 + struct.unpack_from(">I", data, at)[0]
    return lengths, header


def _jpeg_fields(data: bytes):
    lengths, header, at = [], [], 2
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        lengths.append((at + 2, 2))
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            header += [(at + 4, 1), (at + 5, 2), (at + 7, 2), (at + 9, 1)]
        if marker == 0xDA:
            break
        at += 2 + struct.unpack_from(">H", data, at + 2)[0]
    return lengths, header


def _tiff_fields(data: bytes):
    lengths, header = [(4, 4)], []
    ifd = struct.unpack_from("<I", data, 4)[0]
    for i in range(struct.unpack_from("<H", data, ifd)[0]):
        entry = ifd + 2 + 12 * i
        lengths.append((entry + 4, 4))  # the value count
        header.append((entry + 8, 4))   # the value (or where it lies)
    return lengths, header


def _gif_fields(data: bytes):
    at = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)  # after the color table
    lengths = [(10, 1)]
    while data[at] == 0x21:  # extensions: label, then sub-blocks, each led by its length
        at += 2
        while data[at]:
            lengths.append((at, 1))
            at += 1 + data[at]
        at += 1
    return lengths + [(at + 9, 1)], [(6, 2), (8, 2), (at + 5, 2), (at + 7, 2)]


def _webp_fields(data: bytes):
    return [(4, 4), (16, 4)], [(20, 4), (24, 4), (26, 2), (28, 2)]


def _bmp_fields(data: bytes):
    return ([(2, 4), (10, 4), (14, 4), (34, 4), (46, 4)],
            [(18, 4), (22, 4), (26, 2), (28, 2), (30, 4)])


FIELDS = {".png": _png_fields, ".jpg": _jpeg_fields, ".tif": _tiff_fields, ".gif": _gif_fields,
          ".webp": _webp_fields, ".bmp": _bmp_fields}
BIG_ENDIAN = {".png", ".jpg"}


def _set_field(data: bytearray, suffix: str, at: int, size: int, rng: random.Random) -> None:
    order = ">" if suffix in BIG_ENDIAN else "<"
    code = {1: "B", 2: "H", 4: "I"}[size]
    top = (1 << (8 * size)) - 1
    old = struct.unpack_from(order + code, data, at)[0]
    new = rng.choice([0, 1, 2, top, top >> 1, old + 1, max(0, old - 1), old * 2 & top,
                      old * 256 & top, rng.randrange(top + 1)])
    struct.pack_into(order + code, data, at, new)


# ---------------------------------------------------------------- kinds of corruption

def byte_flips(data, suffix, rng):
    for _ in range(rng.randint(1, 8)):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)


def header_bytes(data, suffix, rng):
    for _ in range(rng.randint(1, 3)):
        data[rng.randrange(min(64, len(data)))] = rng.randrange(256)


def truncation(data, suffix, rng):
    del data[rng.randrange(1, len(data)):]


def length_field(data, suffix, rng):
    _set_field(data, suffix, *rng.choice(FIELDS[suffix](bytes(data))[0]), rng)


def header_field(data, suffix, rng):  # sizes, depths, counts, compression
    _set_field(data, suffix, *rng.choice(FIELDS[suffix](bytes(data))[1]), rng)


def inserted_bytes(data, suffix, rng):
    at = rng.randrange(len(data))
    data[at:at] = rng.randbytes(rng.randint(1, 64))


def zeroed_range(data, suffix, rng):
    at = rng.randrange(len(data))
    end = min(len(data), at + rng.randint(1, 256))
    data[at:end] = bytes(end - at)


def repeated_slice(data, suffix, rng):
    at = rng.randrange(len(data))
    piece = data[at:at + rng.randint(1, 200)]
    data[at:at] = piece * rng.randint(2, 50)


KINDS = [byte_flips, header_bytes, truncation, length_field, header_field, inserted_bytes,
         zeroed_range, repeated_slice]


def disguised(folder: Path, marker: Path) -> list[Path]:
    """Other formats and other files under image names: each must be refused, none run."""
    made = [eps_writing(folder / "postscript.jpg", marker)]
    small = _noise((8, 8))
    for name, fmt in [("portable.jpg", "PPM"), ("paintbrush.png", "PCX"), ("targa.bmp", "TGA"),
                      ("icon.gif", "ICO"), ("silicon.tif", "SGI"), ("document.webp", "PDF"),
                      ("im.png", "IM"), ("surface.jpg", "DDS")]:
        small.save(folder / name, fmt)
        made.append(folder / name)
    (folder / "notes.png").write_text("not a picture\n")
    (folder / "page.jpg").write_text("<html><body>404</body></html>")
    made += [folder / "notes.png", folder / "page.jpg"]
    return made


# ---------------------------------------------------------------- running one file

def _calls(path: Path, thumbs: ThumbnailCache):
    yield "load_rgb", lambda: load_rgb(path)
    yield "load_pil", lambda: load_pil(path, max_side=8)
    yield "image_info", lambda: image_info(path)
    yield "thumbnail", lambda: thumbs.make(path, content_hash(path))


def _run_guarded(path: Path, thumbs: ThumbnailCache):
    """{call: None (worked) | ImageError | other exception}, or None if it did not return."""
    outcome: dict = {}

    def run():
        for name, call in _calls(path, thumbs):
            try:
                call()
                outcome[name] = None
            except Exception as exc:  # noqa: BLE001 - collected, then asserted to be ImageError
                outcome[name] = exc
    worker = threading.Thread(target=run, daemon=True, name=f"fuzz {path.name}")
    worker.start()
    worker.join(GUARD_SECONDS)
    return None if worker.is_alive() else outcome


@pytest.fixture
def no_programs(tmp_path, monkeypatch):
    """Records every attempt to start a program (and refuses it); a fake gs leaves a marker."""
    started = []
    marker = tmp_path / "gs-started"
    fake_program(tmp_path / "bin", "gs", marker)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setattr(EpsImagePlugin, "gs_binary", None)

    class Refused(subprocess.Popen):
        def __init__(self, args, *rest, **options):
            started.append(args)
            raise OSError("the fuzz test refuses to start programs")
    monkeypatch.setattr(subprocess, "Popen", Refused)
    return started, marker


@pytest.mark.filterwarnings("ignore")  # Pillow warns about some damaged files; they are counted
def test_fuzzed_files_are_named_with_a_reason_and_never_crash_hang_or_run(tmp_path, no_programs,
                                                                         capsys):
    started, gs_marker = no_programs
    rng = random.Random(SEED)
    bases = _bases(tmp_path / "valid")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    files: list[tuple[str, Path]] = []
    for i in range(FILES):
        base = rng.choice(bases)
        kind = KINDS[i % len(KINDS)]
        data = bytearray(base.read_bytes())
        kind(data, base.suffix, rng)
        path = corpus / f"{i:03d}-{base.stem}-{kind.__name__}{base.suffix}"
        path.write_bytes(bytes(data))
        files.append((kind.__name__, path))
    ran_marker = tmp_path / "postscript-ran"
    files += [("other format or file", p) for p in disguised(corpus, ran_marker)]

    thumbs = ThumbnailCache(tmp_path / "thumbs", size=16)
    crashes, hangs, empty_reasons = [], [], []
    named, usable, per_kind = Counter(), Counter(), Counter()
    for kind, path in files:
        outcome = _run_guarded(path, thumbs)
        per_kind[kind] += 1
        if outcome is None:
            hangs.append(path.name)
            continue
        for call, result in outcome.items():
            if result is not None and not isinstance(result, ImageError):
                crashes.append(f"{path.name} {call}: {type(result).__name__}: {result}")
            elif isinstance(result, ImageError) and not result.reason.strip():
                empty_reasons.append(f"{path.name} {call}")
        if any(isinstance(r, ImageError) for r in outcome.values()):
            named[kind] += 1
        else:
            usable[kind] += 1

    external = len(started) + gs_marker.exists() + ran_marker.exists()
    with capsys.disabled():
        print(f"\nimage fuzz (seed {SEED}): {len(per_kind)} kinds, {len(files)} files, "
              f"{sum(named.values())} named with a reason, {sum(usable.values())} still usable, "
              f"crashes {len(crashes)}, hangs {len(hangs)}, external programs {external}")
    assert crashes == [] and hangs == [] and empty_reasons == []
    assert external == 0
    # Every kind of corruption really produced files the loader had to refuse.
    assert set(named) == set(per_kind), per_kind - named
    assert named["other format or file"] == per_kind["other format or file"]

    # Once through the importer, valid files mixed in: one bad file never costs the others.
    valid_hashes = [content_hash(p) for p in bases]
    mixed = tmp_path / "import" / "fuzzed"
    mixed.parent.mkdir()
    corpus.rename(mixed)
    valid = tmp_path / "import" / "valid"
    (tmp_path / "valid").rename(valid)
    project = Project.create(tmp_path / "proj")
    project.close()
    result = {}
    importer = threading.Thread(target=lambda: result.update(summary=import_paths(
        project.path, [tmp_path / "import"], lambda _event: None, lambda: False)), daemon=True)
    importer.start()
    importer.join(120)
    assert not importer.is_alive(), "the import did not return"
    summary = result["summary"]
    project = Project.open(project.path)
    try:
        records = project.images()
        # Every valid file is in, readable (or its very bytes are: a mutation that changed
        # nothing that matters makes a copy, imported first and the valid file a duplicate).
        valid_records = [project.image(project.find_by_hash(h)) for h in valid_hashes]
    finally:
        project.close()
    assert [r.status for r in valid_records] == ["ok"] * len(bases)
    in_folder = len(list(mixed.iterdir())) + len(bases)
    assert len(summary.added_ids) + len(summary.duplicates) == in_folder
    assert all(r.status == "ok" or r.reason for r in records)
    assert all(reason for _path, reason in summary.unreadable)
    assert len(started) + gs_marker.exists() + ran_marker.exists() == 0
