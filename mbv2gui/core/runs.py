"""A run folder: everything one training produced, readable later without retraining.

  model.keras        the inference model (raw RGB in, probabilities out; see core/training/model.py)
  labels.txt         one class per line, in output index order
  config.json        the TrainConfig
  history.json       per-epoch lists (with "phase") and "fine_tune_start_epoch"
  metrics.json       final accuracy, val_accuracy, val_loss, epochs, seconds, weights_source, counts
  predictions.json   validation (and test) images: path, content_hash, true, split, probabilities
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from mbv2gui.core.errors import UserError
from mbv2gui.core.training.config import TrainConfig

FILES = ("model.keras", "labels.txt", "config.json", "history.json", "metrics.json",
         "predictions.json")


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


def _write_json(path: Path, data) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(data, indent=1, default=float), encoding="utf-8")
    os.replace(temporary, path)


def _read_json(path: Path, default=None):
    if not path.exists() and default is not None:
        return default
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"The run file {path.name} in {path.parent} is missing or damaged; "
                        "train again to make a new run.", str(exc)) from exc


def prediction_row(sample, true: int, probabilities) -> dict:
    """One predictions.json row: what the review views need about a held-out image."""
    return {"path": sample.path, "content_hash": sample.content_hash, "true": true,
            "split": sample.split, "probabilities": [round(float(p), 6) for p in probabilities]}


@dataclass
class Run:
    run_dir: Path
    config: TrainConfig
    class_names: list[str]
    history: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    predictions: list = field(default_factory=list)
    _model: object = field(default=None, repr=False)

    @property
    def run_id(self) -> str:
        return self.run_dir.name

    @property
    def display_name(self) -> str:
        """The run in words ("Run of 6 Dec 01:06 — pretrained (ImageNet), 51%"), never its id."""
        from mbv2gui.core.run_names import run_name

        return run_name(self.config, self.metrics, None, self.run_id)

    @property
    def model_path(self) -> Path:
        return self.run_dir / "model.keras"

    def save(self, model=None, folder=None) -> None:
        """Writes the run's files into `folder` (default: run_dir). Training writes into a
        hidden partial folder that becomes run_dir once complete (see core/files/partial_outputs.py);
        in place, the model file is written last through a temporary name."""
        folder = Path(folder or self.run_dir)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "labels.txt").write_text("".join(f"{n}\n" for n in self.class_names),
                                           encoding="utf-8")
        _write_json(folder / "config.json", self.config.to_dict())
        _write_json(folder / "history.json", self.history)
        _write_json(folder / "metrics.json", self.metrics)
        _write_json(folder / "predictions.json", self.predictions)
        if model is not None:
            temporary = folder / "model.tmp.keras"
            try:
                model.save(temporary)
                os.replace(temporary, folder / "model.keras")
            finally:
                temporary.unlink(missing_ok=True)
            self._model = model

    @classmethod
    def load(cls, run_dir) -> "Run":
        run_dir = Path(run_dir)
        if not (run_dir / "labels.txt").is_file():
            raise UserError(f"{run_dir} is not a training run folder (it has no labels.txt); "
                            "give the folder `mbv2gui train --out` made.")
        names = (run_dir / "labels.txt").read_text(encoding="utf-8").splitlines()
        return cls(run_dir, TrainConfig.from_dict(_read_json(run_dir / "config.json")),
                   [n for n in names if n], _read_json(run_dir / "history.json", {}),
                   _read_json(run_dir / "metrics.json", {}),
                   _read_json(run_dir / "predictions.json", []))

    def load_model(self):
        """The Keras model (loaded once, TensorFlow imported only now)."""
        if self._model is None:
            from mbv2gui.core.training.model import load_model_file

            if not self.model_path.is_file():
                raise UserError(f"The run {self.run_id} has no model file (model.keras); it "
                                "may have been deleted, or the training did not finish.")
            # zip, h5 or config errors all mean a damaged file; code in it is said as such
            self._model = load_model_file(
                self.model_path, f"The model file {self.model_path} is damaged or incomplete "
                "and cannot be loaded; train again to make a new one.")
        return self._model


def load_history(run_dir) -> dict | None:
    """A run's per-epoch history alone (the runs list draws curves from it without loading the
    model), or None when it cannot be read."""
    try:
        return _read_json(Path(run_dir) / "history.json")
    except UserError:
        return None


def sweep_project_runs(project_path) -> list[Path]:
    """Cleans what killed trainings left in a project's runs folder (called when a project is
    opened; see core/files/partial_outputs.py). Never raises."""
    from mbv2gui.core.files.partial_outputs import sweep_partial_outputs
    from mbv2gui.core.store.sidecar import runs_folder

    return sweep_partial_outputs(runs_folder(project_path), runs_folder=True)


def record_in_project(project_path, run: Run) -> None:
    """Adds the run to its project's list of runs (one transaction, own connection)."""
    from mbv2gui.core.store.project import Project

    project = Project.open(project_path)
    try:
        project.record_run(run.run_id, run.run_dir, run.config.to_dict(), run.metrics)
    finally:
        project.close()
