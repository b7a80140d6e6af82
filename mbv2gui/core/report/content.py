"""What a report of a run says, as plain data (page.py lays it out; the notebook API returns
it as is): the data and its split, the settings and starting weights in words, the curves, the
accuracy and how sure it is, the per-class table, the confusion matrix, the most confident
mistakes, the exports and what each was checked against, and the app's version.

Reads only the run folder (no TensorFlow): a report of an old run costs no model loading."""

from __future__ import annotations

import time
from pathlib import Path

from mbv2gui.version import __version__

MISTAKES_SHOWN = 12


def _count_rows(run, evaluation) -> list[dict]:
    """One row per class: its images in each split (metrics.json's counts; a run without them:
    its validation images from the stored predictions)."""
    counts = dict(run.metrics.get("counts") or {})
    if not counts.get("validation"):
        counts["validation"] = {name: int(evaluation.confusion[i].sum())
                                for i, name in enumerate(run.class_names)}
    splits = [s for s in ("train", "validation", "test") if sum((counts.get(s) or {}).values())]
    return [{"class": name, **{s: int(counts[s].get(name, 0)) for s in splits}}
            for name in run.class_names]


def _settings(config) -> list[tuple[str, str]]:
    c = config.to_dict()
    augment = [name for name in ("flip", "rotation", "shift", "zoom") if c.get(f"augment_{name}")]
    rows = [("Model", f"MobileNetV2, width {c['alpha']}, images resized to "
                      f"{c['image_size']}×{c['image_size']} pixels"),
            ("Epochs", "chosen by the app" if c.get("epochs") is None else str(c["epochs"])),
            ("Fine-tuning", f"{c['fine_tune_epochs']} epochs of the top {c['fine_tune_blocks']} "
                            "blocks" if c.get("fine_tune_epochs") else "none (head only)"),
            ("Batch size", str(c["batch_size"])),
            ("Augmentation", ", ".join(augment) if augment else "none"),
            ("Class weights", "balanced" if c.get("class_weights") else "none"),
            ("Regularization", f"dropout {c['dropout']}, L2 {c['l2']}")]
    if c.get("teacher_path"):
        rows.append(("Teacher", f"distilled from {Path(c['teacher_path']).name}"))
    return rows


def _split_sentence(config, rows: list[dict]) -> str:
    totals = {s: sum(r.get(s, 0) for r in rows) for s in ("train", "validation", "test")}
    parts = [f"{totals['train']} to train on"] if totals["train"] else []
    parts.append(f"{totals['validation']} kept aside for validation")
    if totals["test"]:
        parts.append(f"{totals['test']} for testing")
    return (f"{', '.join(parts)}: {config.val_split:.0%} of each class's images were held out "
            f"for validation, chosen at random with seed {config.seed}.")


def _mistakes(evaluation) -> list[dict]:
    from mbv2gui.core.inference.evaluation import misclassified

    names = evaluation.class_names
    return [{"path": p.path, "true": names[p.true], "predicted": names[p.predicted],
             "confidence": p.confidence} for p in misclassified(evaluation)[:MISTAKES_SHOWN]]


def report_content(run) -> dict:
    """The report of a loaded run (core.runs.Run) as plain data."""
    from mbv2gui.core.export.record import recorded
    from mbv2gui.core.inference.evaluation import evaluate_run
    from mbv2gui.core.inference.quality import accuracy_uncertainty, assess_run
    from mbv2gui.core.run_names import start_point

    evaluation = evaluate_run(run)
    rows = _count_rows(run, evaluation)
    accuracy = evaluation.accuracy
    assessment = assess_run(run)
    duplicates = run.metrics.get("near_duplicates")
    return {
        "title": run.display_name,
        "run_id": run.run_id,
        "app": f"mbv2gui {__version__}",
        "written": time.strftime("%d %b %Y %H:%M"),
        "class_names": list(run.class_names),
        "counts": rows,
        "split": _split_sentence(run.config, rows),
        "near_duplicates": (str(duplicates) if duplicates else
                            "Near-duplicate images were not checked for this run."),
        "start": start_point(run.config, run.metrics),
        "weights_source": str(run.metrics.get("weights_source") or ""),
        "settings": _settings(run.config),
        "history": dict(run.history or {}),
        "images": evaluation.total,
        "accuracy": accuracy,
        "accuracy_words": (accuracy_uncertainty(accuracy, evaluation.total)
                           if accuracy is not None else "not measured (no validation images)"),
        "verdict": " ".join([assessment.sentence, *assessment.advice]),
        "per_class": [{"class": m.name, "precision": m.precision, "recall": m.recall,
                       "f1": m.f1, "images": m.support} for m in evaluation.per_class],
        "confusion": evaluation.confusion.tolist(),
        "mistakes": _mistakes(evaluation),
        "exports": recorded(run.run_dir),
    }
