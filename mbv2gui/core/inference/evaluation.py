"""How good a run is, and where it is wrong: accuracy, per-class precision/recall/F1, the
confusion matrix, and the images behind each of its cells.

Everything here is plain numpy over prediction rows (a run's predictions.json, or predictions
made on another folder by `evaluate_files`), so the Evaluate view, the `mbv2gui evaluate`
command and the tests share one computation. Rows of the confusion matrix are the true class,
columns the predicted class (the convention of scikit-learn and of most textbooks).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Iterable, Sequence

import numpy as np

from mbv2gui.core.errors import UserError
from mbv2gui.core.jobs import ignore_events, never_stop

EVALUATION_SPLITS = ("validation", "test")


@dataclass(frozen=True)
class Prediction:
    """One evaluated image: its true class, the class the model chose, and how sure it was."""

    path: str
    content_hash: str | None
    true: int
    predicted: int
    confidence: float  # probability of `predicted`
    true_probability: float  # probability the model gave the true class ("self-confidence")
    split: str

    @property
    def correct(self) -> bool:
        return self.true == self.predicted


@dataclass(frozen=True)
class ClassMetrics:
    name: str
    precision: float
    recall: float
    f1: float
    support: int  # images whose true class this is


@dataclass
class Evaluation:
    class_names: list[str]
    split: str
    predictions: list[Prediction]
    confusion: np.ndarray  # (n, n) int counts: rows true, columns predicted
    per_class: list[ClassMetrics] = field(default_factory=list)

    @property
    def total(self) -> int:
        return int(self.confusion.sum())

    @property
    def accuracy(self) -> float | None:
        """None when there is nothing to evaluate (no images in this split)."""
        total = self.total
        return float(np.trace(self.confusion)) / total if total else None

    @property
    def macro_f1(self) -> float | None:
        scored = [m.f1 for m in self.per_class if m.support]
        return float(np.mean(scored)) if scored else None

    def normalized(self) -> np.ndarray:
        """Each row divided by its total (rows with no images stay 0): "of the images that
        are really X, which share went where"."""
        sums = self.confusion.sum(axis=1, keepdims=True).astype(float)
        return np.divide(self.confusion, sums, out=np.zeros(self.confusion.shape), where=sums > 0)

    def to_dict(self, with_misclassified: bool = True) -> dict:
        """Plain JSON-ready data (the `--json` output of `mbv2gui evaluate`)."""
        data = {
            "split": self.split,
            "images": self.total,
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "class_names": list(self.class_names),
            "per_class": [asdict(m) for m in self.per_class],
            "confusion_matrix": self.confusion.tolist(),
        }
        if with_misclassified:
            data["misclassified"] = [
                {"path": p.path, "true": self.class_names[p.true],
                 "predicted": self.class_names[p.predicted], "confidence": round(p.confidence, 6)}
                for p in misclassified(self)]
        return data


def confusion_matrix(true: Sequence[int], predicted: Sequence[int], n_classes: int) -> np.ndarray:
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    if len(true):
        np.add.at(matrix, (np.asarray(true, dtype=np.int64), np.asarray(predicted, dtype=np.int64)), 1)
    return matrix


def class_metrics(confusion: np.ndarray, class_names: Sequence[str]) -> list[ClassMetrics]:
    """Precision, recall and F1 per class. A ratio with nothing under it (no image predicted
    as, or truly of, that class) is 0, as scikit-learn's zero_division=0 does."""
    tp = np.diag(confusion).astype(float)
    predicted = confusion.sum(axis=0).astype(float)
    support = confusion.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(tp), where=both > 0)
    return [ClassMetrics(name, float(p), float(r), float(f), int(s))
            for name, p, r, f, s in zip(class_names, precision, recall, f1, support)]


def prediction_from_row(row: dict) -> Prediction:
    """One predictions.json row (path, content_hash, true, split, probabilities)."""
    probabilities = np.asarray(row["probabilities"], dtype=float)
    true = int(row["true"])
    predicted = int(np.argmax(probabilities))
    return Prediction(
        path=str(row["path"]), content_hash=row.get("content_hash"), true=true,
        predicted=predicted, confidence=float(probabilities[predicted]),
        true_probability=float(probabilities[true]) if 0 <= true < len(probabilities) else 0.0,
        split=str(row.get("split") or "validation"))


def evaluate(rows: Iterable[dict | Prediction], class_names: Sequence[str],
             split: str | None = "validation") -> Evaluation:
    """The evaluation of the rows in `split` (None: all rows, whatever their split)."""
    predictions = [r if isinstance(r, Prediction) else prediction_from_row(r) for r in rows]
    if split is not None:
        predictions = [p for p in predictions if p.split == split]
    n = len(class_names)
    confusion = confusion_matrix([p.true for p in predictions], [p.predicted for p in predictions], n)
    return Evaluation(list(class_names), split or "all", predictions, confusion,
                      class_metrics(confusion, class_names))


def available_splits(rows: Iterable[dict]) -> list[str]:
    """The evaluation splits that have images, in the usual order."""
    present = {str(row.get("split") or "validation") for row in rows}
    return [s for s in EVALUATION_SPLITS if s in present]


def evaluate_run(run, split: str = "validation") -> Evaluation:
    """The evaluation of a loaded Run (mbv2gui.core.runs.Run) on one of its splits."""
    return evaluate(run.predictions or [], run.class_names, split)


# ------------------------------------------------------------------- the images behind the numbers
def _mistakes_first(predictions: Iterable[Prediction]) -> list[Prediction]:
    """Mistakes before correct ones; mistakes most confident first (the model was surest and
    wrong: the likeliest label errors), correct ones least confident first (the shakiest)."""
    return sorted(predictions, key=lambda p: (p.correct, p.confidence if p.correct else -p.confidence))


def cell_members(evaluation: Evaluation, true_idx: int | None, pred_idx: int | None) -> list[Prediction]:
    """The images in one confusion-matrix cell; `None` for one index means the whole row
    (true_idx) or column (pred_idx). Sorted most-confident mistake first."""
    return _mistakes_first(
        p for p in evaluation.predictions
        if (true_idx is None or p.true == true_idx) and (pred_idx is None or p.predicted == pred_idx))


def misclassified(evaluation: Evaluation) -> list[Prediction]:
    """Every mistake, most confident first."""
    return _mistakes_first(p for p in evaluation.predictions if not p.correct)


def low_confidence(evaluation: Evaluation, threshold: float) -> list[Prediction]:
    """Images whose top probability is below `threshold`, least confident first."""
    return sorted((p for p in evaluation.predictions if p.confidence < threshold),
                  key=lambda p: p.confidence)


# ------------------------------------------------------------------- evaluating on other data
def evaluate_files(run, items: Sequence[tuple[str, str]], report=ignore_events,
                   should_stop=never_stop) -> Evaluation:
    """A job: predicts `items` ((path, class name) pairs) with the run's model and compares.
    Images of a class the run does not know cannot be scored; they are left out with a
    warning. Unreadable images are left out the same way."""
    from mbv2gui.core.jobs import left_out, message
    from mbv2gui.core.inference.predict import predict_files  # TensorFlow: only when this job runs

    names = list(run.class_names)
    index = {name: i for i, name in enumerate(names)}
    unknown = sorted({label for _, label in items if label not in index})
    if unknown:
        report(message(f"{len(unknown)} class(es) in the data are not classes of this run and "
                       f"were left out: {', '.join(unknown[:5])}.", "warning"))
    known = [(path, index[label]) for path, label in items if label in index]
    if not known:
        raise UserError("None of the images are labeled with a class this run knows; "
                        f"its classes are {', '.join(names)}.")
    results = predict_files(run, [p for p, _ in known], report, should_stop, top_k=len(names))
    rows, failed = [], []
    for (path, true), result in zip(known, results):
        if result.get("error"):
            failed.append(result["error"])
            continue
        probabilities = np.zeros(len(names))
        for label, probability in result["top_k"]:
            probabilities[index[label]] = probability
        rows.append({"path": path, "content_hash": None, "true": true, "split": "data",
                     "probabilities": probabilities})
    if failed:
        report(left_out(failed))
    return evaluate(rows, names, split=None)


def folder_items(folder: str | os.PathLike) -> list[tuple[str, str]]:
    """(path, class name) for every image in a folder of class subfolders (listed by the one
    folder walker; a refused file, such as a pipe, is kept: its reading fails with the reason
    and it is left out with the unreadable ones)."""
    from mbv2gui.core.files.folders import class_folder

    items = [(found.path, found.label) for found in class_folder(folder).found]
    if not items:
        raise UserError(f"{folder} holds no images in class subfolders; put each class's "
                        "images in a subfolder named after the class.")
    return items
