"""Retrain as you label: `retrain_head(project_path, report, should_stop, base_config=None) -> Run`.

With pretrained weights the backbone is frozen and its pooled features are cached per image
(core/training/features.py), so a new model after a label change costs only a head fit on the cache:
seconds, not minutes (what made Lobe and Teachable Machine feel instant). This job is exactly
`core.training.train.train` with a head-only configuration taken from the latest run (or `base_config`):
no fine-tuning, no teacher, a modest number of epochs. From scratch (weights 'none') there are no
cached features to reuse, so it refuses with a sentence saying what to do.

When nothing a model depends on changed since the last quick retraining (labels_fingerprint), and
its run is still the latest, that run is returned at once instead of training again. A new quick
run replaces the previous quick run (not one trained by hand), so labeling all afternoon leaves
one model, not hundreds.
A cancelled retraining leaves nothing behind: training returns the partial model it has when
stopped, but a model from labels that have since changed is not worth keeping, so its run is
removed from the project again and the job ends with `JobCancelled`.
Imports no Qt; TensorFlow only through `train`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from mbv2gui.core.errors import JobCancelled, UserError
from mbv2gui.core.jobs import ignore_events, message, never_stop

# Head epochs for a quick retrain: with early stopping (patience 10) a head on a few hundred
# cached feature vectors converges well within this, in a few seconds on a laptop CPU.
RETRAIN_EPOCHS = 20
# Project setting: {"run_id", "fingerprint"} of the last quick retraining (see labels_fingerprint).
LAST = "quick_retrain_last"

NEEDS_PRETRAINED = ("Retrain as you label needs pretrained weights (ImageNet or a weights file): "
                    "{why} Choose pretrained weights in Train and train once; after that every "
                    "label change retrains in seconds.")


def latest_run_config(project) -> dict | None:
    """The config of the project's most recent run, or None when it has none."""
    runs = project.runs()
    return dict(runs[-1].config) if runs else None


def retrain_config(base_config: dict | None):
    """The head-only TrainConfig a quick retrain uses, or a UserError saying why there is none.
    Reads no pixels and imports no TensorFlow: cheap enough to call on any thread."""
    from mbv2gui.core.training.config import TrainConfig
    from mbv2gui.core.training.weights import resolve_weights

    base = TrainConfig.from_dict(base_config or {})
    if (base.weights or "auto").strip() == "none":
        raise UserError(NEEDS_PRETRAINED.format(
            why="the current settings train from scratch, which takes minutes, not seconds."))
    weights = resolve_weights(base.weights, base.alpha, base.image_size, allow_download=False)
    if not weights.pretrained:
        raise UserError(NEEDS_PRETRAINED.format(
            why="no ImageNet weights file was found for these settings."), weights.sentence)
    epochs = min(base.epochs, RETRAIN_EPOCHS) if base.epochs else RETRAIN_EPOCHS
    return TrainConfig.from_dict({**base.to_dict(), "epochs": epochs, "fine_tune_epochs": 0,
                                  "teacher_path": None})


def retrain_head(project_path, report=ignore_events, should_stop=never_stop,
                 base_config: dict | None = None, keep_previous: bool = False):
    """Trains a new head on the cached features with the project's current labels and records
    the run in the project; the run the previous quick retraining made is removed unless
    `keep_previous` (runs trained by hand are never touched). Returns the Run; raises
    UserError (a sentence) when the settings have no pretrained weights, JobCancelled when
    stopped."""
    from mbv2gui.core.store.project import Project
    from mbv2gui.core.training.train import train

    project_path = str(project_path)
    project = Project.open(project_path)
    try:
        if base_config is None:
            base_config = latest_run_config(project)
        config = retrain_config(base_config)
        fingerprint = labels_fingerprint(project, config.to_dict())
        current = _up_to_date_run(project, fingerprint)
    finally:
        project.close()
    if current is not None:  # e.g. only a file check or an unlabeled import changed images
        report(message("The model is already up to date with your labels."))
        return current
    report(message("Retraining the classifier on the cached image features with your latest "
                   "labels…"))
    try:
        run = train(project_path, config, report, should_stop)
    except UserError:
        if should_stop():  # e.g. stopped while computing features: too few images were read
            raise JobCancelled() from None
        raise
    if should_stop():
        _forget(project_path, run.run_id, run.run_dir)
        raise JobCancelled()
    project = Project.open(project_path)
    try:
        previous = (project.setting(LAST) or {}).get("run_id")
        project.set_setting(LAST, {"run_id": run.run_id, "fingerprint": fingerprint})
        old = next((r for r in project.runs() if r.id == previous != run.run_id), None)
    finally:
        project.close()
    if old is not None and not keep_previous:
        # Retraining after every label would otherwise pile up a run (and a model file) per
        # label; only the previous *quick* run is replaced, never a run trained by hand.
        _forget(project_path, old.id, old.run_dir)
    return run


def labels_fingerprint(project, config: dict) -> str:
    """What a trained model depends on: the classes, every usable labeled image's content and
    label and split, and the settings. Equal fingerprints: retraining would change nothing."""
    from mbv2gui.core.store.near_duplicates import stored_groups

    # The near-duplicate groups decide the automatic split too.
    digest = hashlib.sha1(json.dumps([project.class_names(), config, stored_groups(project)],
                                     sort_keys=True, default=str).encode())
    for image in project.labeled_images():
        digest.update(f"{image.content_hash or image.path}\0{image.label}\0{image.split}\n"
                      .encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def _up_to_date_run(project, fingerprint: str):
    """The run the last quick retraining made, if it is still the project's latest run and the
    labels have not changed since; else None."""
    from mbv2gui.core.runs import Run

    last = project.setting(LAST) or {}
    runs = project.runs()
    if not runs or last.get("fingerprint") != fingerprint or runs[-1].id != last.get("run_id"):
        return None
    try:
        return Run.load(runs[-1].run_dir)
    except UserError:  # its folder was deleted or damaged: train a new one
        return None


def _forget(project_path: str, run_id: str, run_dir) -> None:
    """Removes a run a retraining recorded (its row and its folder)."""
    from mbv2gui.core.store.project import Project

    project = Project.open(project_path)
    try:
        project.delete_run(run_id)
    finally:
        project.close()
    shutil.rmtree(Path(run_dir), ignore_errors=True)
