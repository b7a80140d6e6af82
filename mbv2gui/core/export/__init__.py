"""The export job: a run's model -> a deployment format, verified, with its card.

    export_run(run_dir, fmt, out_dir, report, should_stop, project_path=None,
               int8_input="uint8") -> dict

Steps: load the run; read a sample of its images through the app's own loader (validation
images to check agreement, training images to calibrate int8); write the format into a hidden
staging folder; reload it with its own runtime and compare top-1 answers with the app's model;
only then move it into `out_dir` beside labels.txt, model.json and "How to use this model.md".
A failed or cancelled export leaves nothing half-written in `out_dir`.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np

from mbv2gui.core.errors import JobCancelled, UserError
from mbv2gui.core.export.formats import FORMATS, MODEL_FILES, WRITERS, ExportError
from mbv2gui.core.images import is_image_name
from mbv2gui.core.jobs import ignore_events, message, never_stop, progress

__all__ = ["export_run", "ExportError", "FORMATS", "MODEL_FILES"]

CALIBRATION_IMAGES = 100
CHECK_IMAGES = 200
MIN_CHECK_IMAGES = 30  # a 3-image validation set proves little: top up with other images


def _spread(items: list, count: int) -> list:
    """Up to `count` items evenly spread over the list (classes are often stored in order)."""
    if len(items) <= count:
        return list(items)
    return [items[int(i * len(items) / count)] for i in range(count)]


def _training_paths(run, project_path) -> tuple[list[str], str]:
    """Training images for int8 calibration: from the project or folder the run was trained on
    when given, else the images in the folders beside the run's validation images (a folder
    run keeps its classes as subfolders, so those folders hold its training images too)."""
    if project_path:
        from mbv2gui.core.dataset import load_train_data

        try:
            _, data = load_train_data(str(project_path), run.config.val_split,
                                      run.config.seed)
        except UserError:  # e.g. its labels were cleared since: fall back to the run's folders
            data = None
        paths = [s.path for s in data.samples if s.split == "train"] if data else []
        if paths:
            return paths, f"training images of {Path(project_path).name}"
    held_out = {row["path"] for row in run.predictions}
    folders = sorted({str(Path(row["path"]).parent) for row in run.predictions})
    paths = []
    for folder in folders:
        if os.path.isdir(folder):
            paths += sorted(str(Path(folder) / f) for f in os.listdir(folder)
                            if is_image_name(f) and str(Path(folder) / f) not in held_out)
    return paths, "images beside the run's validation images"


def _decode(paths: list[str], size: int, should_stop) -> tuple[np.ndarray, list[str]]:
    """S×S float32 0..255 pixels, the same the app predicts on; unreadable files skipped."""
    from mbv2gui.core.pipeline import iter_decoded

    images, kept = [], []
    for index, item in iter_decoded(paths, size, should_stop):
        if isinstance(item, np.ndarray):
            images.append(item)
            kept.append(paths[index])
    if should_stop():
        raise JobCancelled()
    array = np.stack(images).astype(np.float32) if images else np.zeros((0, size, size, 3),
                                                                       np.float32)
    return array, kept


def export_run(run_dir, fmt: str, out_dir, report=ignore_events, should_stop=never_stop,
               project_path=None, int8_input: str = "uint8") -> dict:
    """Exports, verifies and documents one format. Returns {format, out_dir, files, bytes,
    agreement (the verify result), card (model.json as a dict), seconds}."""
    from mbv2gui.core.export import card, verify
    from mbv2gui.core.model import compiled_forward
    if fmt not in WRITERS:
        raise UserError(f"{fmt!r} is not an export format; choose one of "
                        f"{', '.join(WRITERS)}.")
    started = time.monotonic()
    steps = 5

    def step(done, text):
        if should_stop():
            raise JobCancelled()
        report(progress(done, steps, text))

    step(0, "Loading the model")
    run = _load_run(run_dir)
    model = run.load_model()
    size = int(run.config.image_size)
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"The folder {out_dir} could not be created; choose another place.",
                          str(exc)) from exc

    step(1, "Reading sample images")
    check_paths = [row["path"] for row in run.predictions]
    train_paths, calibration_source = _training_paths(run, project_path)
    if len(check_paths) < MIN_CHECK_IMAGES:
        check_paths += _spread(train_paths, MIN_CHECK_IMAGES - len(check_paths))
    check_images, check_paths = _decode(_spread(check_paths, CHECK_IMAGES), size, should_stop)
    if not len(check_images):
        raise ExportError("None of this run's images could be read, so the export cannot be "
                          "checked; give the project or folder it was trained on.")
    calibration = None
    if fmt == "tflite-int8":
        calibration, _ = _decode(_spread(train_paths, CALIBRATION_IMAGES), size, should_stop)
        report(message(f"Calibrating on {len(calibration)} {calibration_source}."))
    reference = compiled_forward(model)(check_images)

    step(2, f"Writing {fmt}")
    staging = out_dir / f".{fmt}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        try:
            written = WRITERS[fmt](model, run, staging, calibration=calibration,
                                   int8_input=int8_input)
        except (UserError, JobCancelled):
            raise
        except Exception as exc:  # disk full, converter crash: one sentence, the rest as detail
            raise ExportError(f"Writing the {fmt} export into {out_dir} failed, so nothing "
                              "was kept; check the disk space and try again.", str(exc)) from exc
        step(3, f"Checking the {fmt} export against the app")
        agreement = verify.agreement(fmt, staging, check_images, reference)
        agreement["source"] = ("validation images" if len(run.predictions) >= MIN_CHECK_IMAGES
                               else "validation images topped up with training images")
        step(4, "Writing the model card")
        for name in written["files"]:  # verified: now move into place, replacing old ones
            target = out_dir / name
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(staging / name, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if calibration is not None:
        written["calibration"] = {"images": int(len(calibration)), "source": calibration_source}
    info = card.write_card(run, fmt, out_dir, written, agreement)
    total = sum(_size(out_dir / name) for name in written["files"])
    report(progress(steps, steps, "Done"))
    return {"format": fmt, "out_dir": str(out_dir), "files": written["files"], "bytes": total,
            "agreement": agreement, "card": info, "seconds": round(time.monotonic() - started, 2)}


_RUNS: dict = {}


def _load_run(run_dir):
    """The run with its model, kept while its model file is unchanged: exporting several
    formats in a row then loads (and traces) the model once, not once per format."""
    from mbv2gui.core.runs import Run

    path = Path(run_dir).resolve()
    model_file = path / "model.keras"
    key = (str(path), model_file.stat().st_mtime_ns if model_file.is_file() else None)
    if key not in _RUNS:
        run = Run.load(path)
        run.load_model()  # a damaged file raises here and keeps the cached run
        _RUNS.clear()  # one model in memory at a time
        _RUNS[key] = run
    return _RUNS[key]


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size
