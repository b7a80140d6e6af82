"""`mbv2gui evaluate RUN DATA [--json FILE]`: the printed report, the JSON, and errors as
sentences."""

import json

import pytest

from mbv2gui.cli import main
from mbv2gui.commands.evaluate import data_items, format_report
from mbv2gui.core.inference.evaluation import evaluate
from mbv2gui.core.store.project import Project

from test_mislabeled import COLORS, PER_CLASS, tiny_trained_project, write_class_folders


def test_report_text_on_known_predictions():
    rows = [{"path": "/a.png", "true": 0, "split": "validation", "probabilities": [0.9, 0.1]},
            {"path": "/b.png", "true": 1, "split": "validation", "probabilities": [0.8, 0.2]},
            {"path": "/c.png", "true": 1, "split": "validation", "probabilities": [0.3, 0.7]}]
    text = format_report(evaluate(rows, ["apple", "pear"]))
    assert "Accuracy: 66.7% on 3 images" in text
    assert "apple         0.500   1.000  0.667        1" in text
    assert "         apple  pear\napple        1     0\npear         1     1" in text  # names head columns
    long = format_report(evaluate(rows, ["a very long apple name", "pear"]))
    assert "a very long apple name   1:   1   0" in long
    assert "pear → apple (80%): /b.png" in text


def test_data_from_folder_and_project(tmp_path):
    folder = write_class_folders(tmp_path / "photos", per_class=2, size=(8, 8))
    items = data_items(str(folder))
    assert len(items) == 2 * len(COLORS) and {label for _, label in items} == set(COLORS)
    project = Project.create(tmp_path / "p.mbv2")
    project.close()
    with pytest.raises(Exception, match="no labeled images"):
        data_items(str(tmp_path / "p.mbv2"))


def test_missing_data_is_a_sentence(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "run"), str(tmp_path / "nothing")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("mbv2gui: ") and "Traceback" not in error


@pytest.mark.slow
def test_evaluate_run_on_folder_writes_json(tmp_path_factory, tmp_path, capsys):
    pytest.importorskip("mbv2gui.core.training.train")
    _project, run_dir, _flipped, folder = tiny_trained_project(tmp_path_factory, tmp_path)
    out = tmp_path / "eval.json"
    assert main(["evaluate", run_dir, str(folder), "--json", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("Images used: every image in the folder")  # says which it used
    assert "(36 files;" in printed.splitlines()[0]
    assert "\nAccuracy: " in printed and "Confusion matrix" in printed
    data = json.loads(out.read_text())
    assert data["images"] == len(COLORS) * PER_CLASS
    matrix = data["confusion_matrix"]
    assert len(matrix) == len(COLORS) and sum(map(sum, matrix)) == data["images"]
    assert sum(matrix[i][i] for i in range(len(matrix))) / data["images"] == pytest.approx(data["accuracy"])
    assert [m["name"] for m in data["per_class"]] == sorted(COLORS)
    for row in data["misclassified"]:
        assert set(row) == {"path", "true", "predicted", "confidence"} and row["true"] != row["predicted"]
    confidences = [row["confidence"] for row in data["misclassified"]]
    assert confidences == sorted(confidences, reverse=True)


def test_evaluate_files_joins_predictions_by_class_name(monkeypatch):
    """The comparison itself, with predict_files' answers given: probabilities are placed by
    class name, unknown classes and unreadable images are left out with a warning."""
    import sys
    import types

    from mbv2gui.core.inference.evaluation import evaluate_files

    answers = {"/a.png": [("pear", 0.7), ("apple", 0.3)], "/b.png": [("pear", 0.9), ("apple", 0.1)]}

    def predict_files(run, paths, report, should_stop, top_k=3, batch_size=32):
        assert top_k == 2  # every class, so the whole distribution comes back
        return [{"path": p, "top_k": answers.get(p, []), "error": None if p in answers else "bad"}
                for p in paths]

    monkeypatch.setitem(sys.modules, "mbv2gui.core.inference.predict",
                        types.SimpleNamespace(predict_files=predict_files))
    run = types.SimpleNamespace(class_names=["apple", "pear"])
    events = []
    result = evaluate_files(run, [("/a.png", "apple"), ("/b.png", "pear"), ("/c.png", "pear"),
                                  ("/d.png", "plum")], events.append)
    assert result.confusion.tolist() == [[0, 1], [0, 1]]
    assert [p.path for p in result.predictions] == ["/a.png", "/b.png"]
    warnings = [e["text"] for e in events if e.get("level") == "warning"]
    assert any("plum" in w for w in warnings) and any("could not be read" in w for w in warnings)
