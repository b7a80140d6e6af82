"""The export job: a run's model -> a deployment format, verified, with its card.

    export_run(run_dir, fmt, out_path, report, should_stop, project_path=None,
               int8_input="uint8") -> ExportResult

`out_path` is the folder to export into (created if needed; an existing one must be empty or
hold only earlier exports). Steps: load the run; read a sample of its images through the app's
own loader (validation images to check agreement, training images to calibrate int8); write
the whole new folder under a hidden name beside `out_path` (earlier formats of the same run,
the new one, labels.txt, model.json, "How to use this model.md"); reload the new format with
its own runtime and compare top-1 answers with the app's model; only then swap it in for
`out_path` (see core/files/partial_outputs.py). A failed, cancelled or killed export leaves
`out_path` as it was. TensorFlow is imported only when an export runs.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from mbv2gui.core.files.diskspace import ensure_free, model_file_bytes, said_in_words
from mbv2gui.core.errors import JobCancelled
from mbv2gui.core.export import model_card, samples
from mbv2gui.core.export.formats import FORMATS, MODEL_FILES, ExportError, check_format, writer
from mbv2gui.core.export.howto import HOWTO, agreement_sentence
from mbv2gui.core.export.record import record
from mbv2gui.core.jobs import ignore_events, message, never_stop, progress
from mbv2gui.core.files.partial_outputs import building, check_replaceable, sweep_partial_outputs

__all__ = ["export_run", "ExportResult", "ExportError", "FORMATS", "MODEL_FILES"]

STEPS = 5
ACTION = "export the model"


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
        return (f"Exported {', '.join(self.files)} ({human_size(self.bytes)}) to "
                f"{self.out_dir}. {agreement_sentence(self.card['exports'][self.format])}")

    def to_dict(self) -> dict:
        return asdict(self)


def human_size(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.0f} KB"


def export_run(run_dir, fmt: str, out_path, report=ignore_events, should_stop=never_stop,
               project_path=None, int8_input: str = "uint8") -> ExportResult:
    from mbv2gui.core.export import verify
    from mbv2gui.core.training.model import compiled_forward

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
    out_dir = Path(out_path)
    check_replaceable(out_dir, is_export_folder, "export")  # told before any work
    sweep_partial_outputs(out_dir.parent)

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
    # The new folder is written complete beside out_dir (the formats exported there before
    # for this run, the new one, labels.txt, the card, the how-to), checked, then swapped in:
    # a killed export never leaves a new model file beside an old labels.txt.
    needed = 2 * model_file_bytes(model.count_params())
    ensure_free(out_dir, needed, ACTION)
    with building(out_dir, is_export_folder, "export", ACTION) as staging, \
            said_in_words(out_dir, ACTION, needed):
        keep_earlier_exports(out_dir, staging, run.run_id, fmt)
        written = writer(fmt)(model, run, staging, calibration=calibration,
                              int8_input=int8_input)
        step(3, f"Checking the {fmt} export against the app")
        agreement = verify.agreement(fmt, staging, check_images, reference)
        if agreement["images"]:
            agreement["source"] = check_source
        step(4, "Writing the model card")
        if calibration is not None:
            written["calibration"] = {"images": int(len(calibration)), "source": train_source}
        card = model_card.write_card(run, fmt, staging, written, agreement)
    record(run.run_dir, fmt, out_dir, written["files"], agreement,
           card["exports"][fmt]["exported"], written.get("structure"))
    report(progress(STEPS, STEPS, "Done"))
    return ExportResult(fmt, str(out_dir), written["files"],
                        sum(_size(out_dir / name) for name in written["files"]), agreement,
                        card, round(time.monotonic() - started, 2))


def is_export_folder(folder: Path) -> bool:
    """A folder holding only what exports write (which a new export may replace as a whole)."""
    ours = set(MODEL_FILES.values()) | {model_card.LABELS, model_card.CARD, HOWTO}
    return all(entry.name in ours or entry.name.endswith((".tmp", ".partial"))
               for entry in Path(folder).iterdir())


def keep_earlier_exports(out_dir: Path, staging: Path, run_id: str, fmt: str) -> None:
    """Carries into the new folder the formats exported into `out_dir` before for the same run
    (hard links where the disk allows: no copy, no space), with their card entries; a format's
    entry whose files are gone is dropped. Another run's exports are not carried over."""
    try:
        card = json.loads((out_dir / model_card.CARD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if not isinstance(card, dict) or card.get("run_id") != run_id:
        return
    kept = {}
    for earlier, entry in (card.get("exports") or {}).items():
        files = entry.get("files", []) if isinstance(entry, dict) else []
        if earlier == fmt or not files or not all((out_dir / f).exists() for f in files):
            continue
        for name in files:
            _link_or_copy(out_dir / name, staging / name)
        kept[earlier] = entry
    (staging / model_card.CARD).write_text(json.dumps({**card, "exports": kept}, indent=1),
                                           encoding="utf-8")


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link (the new folder shares the file, which is never written in place), or a
    copy on a file system without hard links."""
    def link(a, b):
        try:
            os.link(a, b)
        except OSError:
            shutil.copy2(a, b)

    if source.is_dir():
        shutil.copytree(source, target, copy_function=link)
    else:
        link(source, target)


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
