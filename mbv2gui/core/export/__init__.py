"""The export job: a run's model -> a deployment format, verified, with its card.

    export_run(run_dir, fmt, out_path, report, should_stop, project_path=None,
               int8_input="uint8") -> ExportResult

`out_path` is the folder to export into (created if needed). Steps: load the run; read a sample
of its images through the app's own loader (validation images to check agreement, training
images to calibrate int8); write the format into a hidden staging folder; reload it with its
own runtime and compare top-1 answers with the app's model; only then move it into `out_path`
beside labels.txt, model.json and "How to use this model.md". A failed or cancelled export
leaves nothing half-written there. TensorFlow is imported only when an export runs.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from mbv2gui.core.errors import JobCancelled
from mbv2gui.core.export import samples
from mbv2gui.core.export.formats import FORMATS, MODEL_FILES, ExportError, check_format, writer
from mbv2gui.core.jobs import ignore_events, message, never_stop, progress

__all__ = ["export_run", "ExportResult", "ExportError", "FORMATS", "MODEL_FILES"]

STEPS = 5


@dataclass(frozen=True)
class ExportResult:
    format: str
    out_dir: str
    files: list          # names written into out_dir, model file first
    bytes: int           # size of the model file(s)
    agreement: dict      # verify.agreement(): images, agreeing, top1_agreement, runtime, ...
    card: dict           # the model.json content
    seconds: float

    @property
    def model_path(self) -> Path:
        return Path(self.out_dir) / self.files[0]

    def summary(self) -> str:
        """Two sentences for the user (the dialog and the CLI both show them)."""
        a = self.agreement
        return (f"Exported {', '.join(self.files)} ({human_size(self.bytes)}) to "
                f"{self.out_dir}. Same top answer as the app on {a['agreeing']} of "
                f"{a['images']} images ({a['top1_agreement']:.1%}), checked with "
                f"{a['runtime']}.")

    def to_dict(self) -> dict:
        return asdict(self)


def human_size(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.0f} KB"


def export_run(run_dir, fmt: str, out_path, report=ignore_events, should_stop=never_stop,
               project_path=None, int8_input: str = "uint8") -> ExportResult:
    from mbv2gui.core.export import model_card, verify
    from mbv2gui.core.model import compiled_forward

    check_format(fmt)
    started = time.monotonic()

    def step(done, text):
        if should_stop():
            raise JobCancelled()
        report(progress(done, STEPS, text))

    step(0, "Loading the model")
    run = _load_run(run_dir)
    model = run.load_model()
    size = int(run.config.image_size)
    out_dir = _make_folder(out_path)

    step(1, "Reading sample images")
    train_paths, train_source = samples.training_paths(run, project_path)
    check_paths, check_source = samples.check_paths(run, train_paths)
    check_images = samples.decode(check_paths, size, should_stop)
    if not len(check_images):
        raise ExportError("None of this run's images could be read, so the export cannot be "
                          "checked; give the project or folder it was trained on.")
    calibration = None
    if fmt == "tflite-int8":
        calibration = samples.decode(samples.spread(train_paths, samples.CALIBRATION_IMAGES),
                                     size, should_stop)
        report(message(f"Calibrating on {len(calibration)} {train_source}."))
    reference = compiled_forward(model)(check_images)

    step(2, f"Writing {fmt}")
    staging = out_dir / f".{fmt}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        written = writer(fmt)(model, run, staging, calibration=calibration,
                              int8_input=int8_input)
        step(3, f"Checking the {fmt} export against the app")
        agreement = verify.agreement(fmt, staging, check_images, reference)
        agreement["source"] = check_source
        step(4, "Writing the model card")
        for name in written["files"]:  # verified: now move into place, replacing older ones
            target = out_dir / name
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(staging / name, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if calibration is not None:
        written["calibration"] = {"images": int(len(calibration)), "source": train_source}
    card = model_card.write_card(run, fmt, out_dir, written, agreement)
    report(progress(STEPS, STEPS, "Done"))
    return ExportResult(fmt, str(out_dir), written["files"],
                        sum(_size(out_dir / name) for name in written["files"]), agreement,
                        card, round(time.monotonic() - started, 2))


def _make_folder(out_path) -> Path:
    out_dir = Path(out_path)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # includes "a file of that name exists"
        raise ExportError(f"The folder {out_dir} could not be created; choose another place.",
                          str(exc)) from exc
    return out_dir


_RUNS: dict = {}
_RUNS_LOCK = threading.Lock()  # exports run on worker threads; two must not race the cache


def _load_run(run_dir):
    """The run with its model, kept while its model file is unchanged: exporting several
    formats in a row then loads (and traces, and converts to a SavedModel) the model once."""
    from mbv2gui.core.runs import Run

    path = Path(run_dir).resolve()
    model_file = path / "model.keras"
    key = (str(path), model_file.stat().st_mtime_ns if model_file.is_file() else None)
    with _RUNS_LOCK:
        if key not in _RUNS:
            run = Run.load(path)
            run.load_model()  # a damaged file raises here, before the cache is touched
            _RUNS.clear()  # one model in memory at a time
            _RUNS[key] = run
        return _RUNS[key]


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size
