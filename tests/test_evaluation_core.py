"""Metrics, confusion matrix and cell members on hand-made predictions with known answers."""

import json

import numpy as np
import pytest

from mbv2gui.core.inference.evaluation import (
    available_splits, cell_members, confusion_matrix, evaluate, folder_items, low_confidence,
    misclassified)
from mbv2gui.core.errors import UserError

NAMES = ["cat", "dog", "fox"]


def row(name, true, probabilities, split="validation"):
    return {"path": f"/img/{name}.png", "content_hash": name, "true": true, "split": split,
            "probabilities": probabilities}


# true -> predicted, with confidences chosen so the ordering is known
ROWS = [
    row("c1", 0, [0.9, 0.05, 0.05]),   # cat ok
    row("c2", 0, [0.6, 0.3, 0.1]),     # cat ok, shaky
    row("c3", 0, [0.2, 0.7, 0.1]),     # cat -> dog, 0.7
    row("c4", 0, [0.05, 0.9, 0.05]),   # cat -> dog, 0.9 (most confident mistake)
    row("d1", 1, [0.1, 0.8, 0.1]),     # dog ok
    row("d2", 1, [0.1, 0.35, 0.55]),   # dog -> fox, 0.55
    row("f1", 2, [0.0, 0.0, 1.0]),     # fox ok
    row("t1", 2, [0.5, 0.2, 0.3], split="test"),  # fox -> cat, test split only
]


def test_confusion_matrix_counts():
    matrix = confusion_matrix([0, 0, 1, 2, 2], [0, 1, 1, 2, 0], 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]
    assert confusion_matrix([], [], 2).tolist() == [[0, 0], [0, 0]]


def test_metrics_on_known_answers():
    ev = evaluate(ROWS, NAMES, "validation")
    assert ev.total == 7
    assert ev.confusion.tolist() == [[2, 2, 0], [0, 1, 1], [0, 0, 1]]
    assert ev.accuracy == pytest.approx(4 / 7)
    cat, dog, fox = ev.per_class
    assert (cat.precision, cat.recall, cat.support) == (pytest.approx(1.0), pytest.approx(0.5), 4)
    assert dog.precision == pytest.approx(1 / 3) and dog.recall == pytest.approx(0.5)
    assert dog.f1 == pytest.approx(2 * (1 / 3) * 0.5 / (1 / 3 + 0.5))
    assert fox.precision == pytest.approx(0.5) and fox.recall == pytest.approx(1.0)
    assert ev.normalized()[0].tolist() == [0.5, 0.5, 0.0]


def test_test_split_and_empty_split():
    test = evaluate(ROWS, NAMES, "test")
    assert test.total == 1 and test.accuracy == 0.0
    assert test.confusion[2, 0] == 1
    assert available_splits(ROWS) == ["validation", "test"]
    empty = evaluate([], NAMES, "test")
    assert empty.accuracy is None and empty.macro_f1 is None
    assert [m.precision for m in empty.per_class] == [0.0, 0.0, 0.0]  # no division by zero


def test_cell_members_and_ordering():
    ev = evaluate(ROWS, NAMES)
    assert [p.content_hash for p in cell_members(ev, 0, 1)] == ["c4", "c3"]
    assert cell_members(ev, 2, 0) == []
    # a whole row: mistakes first (most confident first), then correct ones, shakiest first
    assert [p.content_hash for p in cell_members(ev, 0, None)] == ["c4", "c3", "c2", "c1"]
    assert [p.content_hash for p in cell_members(ev, None, 1)] == ["c4", "c3", "d1"]
    assert [p.content_hash for p in misclassified(ev)] == ["c4", "c3", "d2"]
    first = misclassified(ev)[0]
    assert (first.true, first.predicted, first.confidence) == (0, 1, pytest.approx(0.9))
    assert first.true_probability == pytest.approx(0.05)


def test_low_confidence_filter():
    ev = evaluate(ROWS, NAMES)
    assert [p.content_hash for p in low_confidence(ev, 0.65)] == ["d2", "c2"]
    assert low_confidence(ev, 0.0) == []


def test_to_dict_is_json():
    data = json.loads(json.dumps(evaluate(ROWS, NAMES).to_dict()))
    assert data["confusion_matrix"] == [[2, 2, 0], [0, 1, 1], [0, 0, 1]]
    assert data["per_class"][0] == {"name": "cat", "precision": 1.0, "recall": 0.5,
                                    "f1": pytest.approx(2 / 3), "support": 4}
    assert data["misclassified"][0] == {"path": "/img/c4.png", "true": "cat",
                                        "predicted": "dog", "confidence": 0.9}


def test_folder_items(tmp_path):
    for name in ("b", "a"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "x.png").write_bytes(b"")
        (tmp_path / name / "notes.txt").write_text("")
    assert [label for _, label in folder_items(tmp_path)] == ["a", "b"]
    with pytest.raises(UserError):
        folder_items(tmp_path / "a")


def test_probabilities_may_be_numpy():
    ev = evaluate([row("x", 1, np.array([0.2, 0.8, 0.0]))], NAMES)
    assert ev.accuracy == 1.0
